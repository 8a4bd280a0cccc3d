package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/pkg/auth"
)

type receiverJSON struct {
	ID        string   `json:"id"`
	URL       string   `json:"url"`
	Kind      string   `json:"kind"`
	Audience  string   `json:"audience"`
	Events    []string `json:"events"`
	CreatedAt string   `json:"created_at"`
}

func TestReceiverRoutes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnvWith(t, b.client(t), envConfig{push: true})
		e.seedWorld(t)
		ta := e.token(t, tenantAdmin)
		path := pathTenant("T1") + "/receivers"
		good := map[string]any{"url": "https://rp.example/backchannel?x=1", "kind": "backchannel_logout", "audience": "rp-1", "events": []string{"admin_revoke"}}
		r := e.post(t, path, ta, good)
		mustStatus(t, r, http.StatusCreated)
		created := mustDecode[envelope[receiverJSON]](t, r).Data
		if created.ID == "" || created.URL != good["url"] || created.Kind != "backchannel_logout" || created.Audience != "rp-1" || len(created.Events) != 1 {
			t.Errorf("created %+v", created)
		}
		list := mustDecode[envelope[[]receiverJSON]](t, e.get(t, path, e.token(t, partnerAdmin))).Data
		if len(list) != 1 || list[0].ID != created.ID {
			t.Errorf("list %+v", list)
		}
		mustStatus(t, e.get(t, path+"/"+created.ID, ta), http.StatusOK)
		r = e.get(t, path+"/"+created.ID+"/failures", ta)
		mustStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.Body), `"data":[]`) {
			t.Errorf("failures of a new receiver: %s", r.Body)
		}

		bad := []struct {
			name string
			body map[string]any
			typ  string
			loc  string
		}{
			{"http to another host", map[string]any{"url": "http://rp.example/x", "kind": "caep", "audience": "a"}, "url_parsing", "url"},
			{"not absolute", map[string]any{"url": "/logout", "kind": "caep", "audience": "a"}, "url_parsing", "url"},
			{"credentials", map[string]any{"url": "https://u:p@rp.example/x", "kind": "caep", "audience": "a"}, "url_parsing", "url"},
			{"fragment", map[string]any{"url": "https://rp.example/x#f", "kind": "caep", "audience": "a"}, "url_parsing", "url"},
			{"unknown kind", map[string]any{"url": "https://rp.example/x", "kind": "webhook", "audience": "a"}, "enum", "kind"},
			{"no audience", map[string]any{"url": "https://rp.example/x", "kind": "caep"}, "missing", "audience"},
			{"no url", map[string]any{"kind": "caep", "audience": "a"}, "missing", "url"},
			{"bad reason", map[string]any{"url": "https://rp.example/x", "kind": "caep", "audience": "a", "events": []string{"Admin Revoke"}}, "string_pattern_mismatch", "events"},
			{"unknown field", map[string]any{"url": "https://rp.example/x", "kind": "caep", "audience": "a", "secret": "x"}, "extra_forbidden", "secret"},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				r := e.post(t, path, ta, tc.body)
				mustStatus(t, r, http.StatusUnprocessableEntity)
				found := false
				for _, fe := range mustValidation(t, r) {
					found = found || (fe.Type == tc.typ && len(fe.Loc) >= 2 && fe.Loc[1] == tc.loc)
				}
				if !found {
					t.Errorf("no %s error at body.%s: %s", tc.typ, tc.loc, r.Body)
				}
			})
		}
		// Reach: another tenant's admin 403, the user 403, readers may not write.
		other := e.token(t, auth.MintOptions{Subject: "t3", Role: auth.RoleTenantAdmin, TenantID: "T3"})
		mustStatus(t, e.get(t, path, other), http.StatusForbidden)
		mustStatus(t, e.post(t, path, other, good), http.StatusForbidden)
		mustStatus(t, e.post(t, path, e.token(t, userU1), good), http.StatusForbidden)
		mustStatus(t, e.post(t, path, e.token(t, platformRead), good), http.StatusForbidden)
		mustStatus(t, e.get(t, pathTenant("T3")+"/receivers/"+created.ID, e.token(t, superAdmin)), http.StatusNotFound)
		mustStatus(t, e.del(t, pathTenant("T1")+"/receivers/"+created.ID, other), http.StatusForbidden)
		mustStatus(t, e.del(t, path+"/"+created.ID, ta), http.StatusNoContent)
		mustStatus(t, e.del(t, path+"/"+created.ID, ta), http.StatusNotFound)
		mustStatus(t, e.get(t, "/.well-known/jwks.json", ""), http.StatusOK)
	})
}

// TestAdminReceiverRoutes: under /api/v1/admin/sessions/receivers a partner
// admin registers its partner's receivers and a super admin (or a platform
// token with the admin scopes) the platform's; each sees only its own, a
// tenant admin and a user get 403, and a tenant's receivers stay apart.
func TestAdminReceiverRoutes(t *testing.T) {
	e := newEnvWith(t, backends[0].client(t), envConfig{push: true})
	e.seedWorld(t)
	const path = "/api/v1/admin/sessions/receivers"
	body := func(aud string) map[string]any {
		return map[string]any{"url": "https://rp.example/caep", "kind": "caep", "audience": aud}
	}
	pa, root := e.token(t, partnerAdmin), e.token(t, superAdmin)
	r := e.post(t, path, pa, body("partner-rp"))
	mustStatus(t, r, http.StatusCreated)
	partnerRcv := mustDecode[envelope[receiverJSON]](t, r).Data
	r = e.post(t, path, e.token(t, platformWrite), body("platform-rp"))
	mustStatus(t, r, http.StatusCreated)
	platformRcv := mustDecode[envelope[receiverJSON]](t, r).Data
	mustStatus(t, e.post(t, pathTenant("T1")+"/receivers", e.token(t, tenantAdmin), body("tenant-rp")), http.StatusCreated)

	lists := []struct {
		name string
		tok  string
		want string
	}{
		{"partner admin", pa, "partner-rp"},
		{"super admin", root, "platform-rp"},
		{"platform read", e.token(t, platformRead), "platform-rp"},
	}
	for _, tc := range lists {
		t.Run(tc.name, func(t *testing.T) {
			list := mustDecode[envelope[[]receiverJSON]](t, e.get(t, path, tc.tok)).Data
			if len(list) != 1 || list[0].Audience != tc.want {
				t.Errorf("list %+v, want only %s", list, tc.want)
			}
		})
	}
	// One owner cannot reach another's receiver by id.
	mustStatus(t, e.get(t, path+"/"+platformRcv.ID, pa), http.StatusNotFound)
	mustStatus(t, e.del(t, path+"/"+partnerRcv.ID, root), http.StatusNotFound)
	mustStatus(t, e.get(t, path+"/"+partnerRcv.ID+"/failures", pa), http.StatusOK)
	for _, tok := range []string{e.token(t, tenantAdmin), e.token(t, userU1), ""} {
		if r := e.get(t, path, tok); r.Code != http.StatusForbidden && r.Code != http.StatusUnauthorized {
			t.Errorf("list by a non-admin: %d", r.Code)
		}
	}
	mustStatus(t, e.post(t, path, e.token(t, tenantAdmin), body("x")), http.StatusForbidden)
	mustStatus(t, e.post(t, path, e.token(t, platformRead), body("x")), http.StatusForbidden)
	mustStatus(t, e.post(t, path, pa, map[string]any{"url": "http://rp.example/", "kind": "caep", "audience": "a"}), http.StatusUnprocessableEntity)
	mustStatus(t, e.del(t, path+"/"+partnerRcv.ID, pa), http.StatusNoContent)
	mustStatus(t, e.del(t, path+"/"+partnerRcv.ID, pa), http.StatusNotFound)
}
