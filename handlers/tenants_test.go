package handlers_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/auth"
)

func TestTenantLists(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.seedWorld(t)
		tok := e.token(t, tenantAdmin)
		r := e.do(t, req{Method: "GET", Path: pathTenant("T1") + "/users/u2", Token: tok, Header: map[string]string{"X-Request-ID": "tl-1"}})
		mustStatus(t, r, http.StatusOK)
		mustBody(t, r, fmt.Sprintf(`{"data":[{"id":"t1-u2","user_id":"u2","user_email":null,"ip_address":null,"user_agent":null,
			"device_type":"unknown","is_current":false,"created_at":%q,"last_activity_at":null,"expires_at":%q,"app_count":0}],
			"pagination":{"page":1,"per_page":20,"total_items":1,"total_pages":1},"meta":{"request_id":"tl-1","timestamp":"<ts>"}}`,
			wt(e.now), wt(e.now.Add(3400*time.Second))))

		cases := []struct {
			name, path string
			want       []string
		}{
			{"tenant", pathTenant("T1"), []string{"t1-u1-a", "t1-u1-b", "t1-u2"}},
			{"tenant active_only=false", pathTenant("T1") + "?active_only=false", []string{"t1-u1-a", "t1-u1-b", "t1-u2"}},
			{"tenant active_only=true", pathTenant("T1") + "?active_only=true", []string{"t1-u1-a", "t1-u1-b", "t1-u2"}},
			{"tenant user_id filter", pathTenant("T1") + "?user_id=u1", []string{"t1-u1-a", "t1-u1-b"}},
			{"tenant user_id of another tenant", pathTenant("T1") + "?user_id=u3", []string{}},
			{"user", pathTenant("T1") + "/users/u1", []string{"t1-u1-a", "t1-u1-b"}},
			{"user of another tenant", pathTenant("T1") + "/users/u4", []string{}},
			{"user page 2", pathTenant("T1") + "/users/u1?per_page=1&page=2", []string{"t1-u1-b"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.get(t, tc.path, tok)
				mustStatus(t, r, http.StatusOK)
				if diff := cmp.Diff(tc.want, ids(mustDecode[envelope[[]listItemJSON]](t, r).Data)); diff != "" {
					t.Errorf("ids (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestTenantGetAndDelete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		exp := e.now.Add(90*time.Minute + 5*time.Millisecond)
		e.mustCreate(t, fullSession(exp))
		e.mustCreate(t, sess{"id": "other", "user_id": "u5", "tenant_id": "T2"})
		tok := e.token(t, auth.MintOptions{Subject: "u1", Role: auth.RoleTenantAdmin, TenantID: "T1", SessionID: "s-full"})

		r := e.do(t, req{Method: "GET", Path: pathTenant("T1") + "/s-full", Token: tok, Header: map[string]string{"X-Request-ID": "tg-1"}})
		mustStatus(t, r, http.StatusOK)
		mustBody(t, r, fmt.Sprintf(`{"data":{"id":"s-full","user_id":"u1",
			"user_email":"u1@example.com","user_display_name":"User One","ip_address":"203.0.113.7",
			"user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			"device_type":"desktop","location":"Berlin, DE","is_current":true,"created_at":%q,
			"last_activity_at":null,"expires_at":%q,"sso_apps":[]},"meta":{"request_id":"tg-1","timestamp":"<ts>"}}`,
			wt(e.now), wt(exp)))

		super := e.token(t, superAdmin)
		mustDetail(t, e.get(t, pathTenant("T1")+"/other", super), http.StatusNotFound)
		mustDetail(t, e.del(t, pathTenant("T1")+"/other", super), http.StatusNotFound)
		mustDetail(t, e.get(t, pathTenant("T1")+"/nope", super), http.StatusNotFound)

		r = e.del(t, pathTenant("T1")+"/s-full", tok)
		mustStatus(t, r, http.StatusNoContent)
		if len(r.Body) != 0 {
			t.Errorf("204 body: got %q, want empty", r.Body)
		}
		mustDetail(t, e.get(t, pathTenant("T1")+"/s-full", tok), http.StatusNotFound)
		mustDetail(t, e.del(t, pathTenant("T1")+"/s-full", tok), http.StatusNotFound)
		if diff := cmp.Diff([]string{"other"}, e.mustListIDs(t, pathAdmin)); diff != "" {
			t.Errorf("sessions left (-want +got):\n%s", diff)
		}
	})
}

func TestTenantRevokeAll(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.seedWorld(t)
		tok := e.token(t, tenantAdmin)
		r := e.post(t, pathTenant("T1")+"/revoke-all", tok, nil)
		mustStatus(t, r, http.StatusOK)
		got := mustDecode[envelope[revokeJSON]](t, r).Data
		slices.Sort(got.SessionIDs)
		want := revokeJSON{RevokedCount: 3, SessionIDs: []string{"t1-u1-a", "t1-u1-b", "t1-u2"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("revoke (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"t2-u3", "t3-u4"}, e.mustListIDs(t, pathAdmin)); diff != "" {
			t.Errorf("sessions left (-want +got):\n%s", diff)
		}
		r = e.post(t, pathTenant("T1")+"/revoke-all", tok, nil)
		mustStatus(t, r, http.StatusOK)
		if diff := cmp.Diff(revokeJSON{SessionIDs: []string{}}, mustDecode[envelope[revokeJSON]](t, r).Data); diff != "" {
			t.Errorf("second revoke (-want +got):\n%s", diff)
		}
	})
}

func TestTenantUserRevoke(t *testing.T) {
	// The caller is tenant admin of T1 and user u1, on session t1-u1-a.
	me := auth.MintOptions{Subject: "u1", Role: auth.RoleTenantAdmin, TenantID: "T1", SessionID: "t1-u1-a"}
	noSID := auth.MintOptions{Subject: "boss", Role: auth.RoleTenantAdmin, TenantID: "T1"}
	cases := []struct {
		name    string
		caller  auth.MintOptions
		user    string
		body    any
		revoked []string
	}{
		{"revoke_all keeps the caller's session", me, "u1", map[string]any{"revoke_all": true}, []string{"t1-u1-b"}},
		{"revoke_all except_current true", me, "u1", map[string]any{"revoke_all": true, "except_current": true}, []string{"t1-u1-b"}},
		{"revoke_all except_current false", me, "u1", map[string]any{"revoke_all": true, "except_current": false}, []string{"t1-u1-a", "t1-u1-b"}},
		{"revoke_all by a caller without sid", noSID, "u1", map[string]any{"revoke_all": true}, []string{"t1-u1-a", "t1-u1-b"}},
		{"revoke_all of another user", me, "u2", map[string]any{"revoke_all": true}, []string{"t1-u2"}},
		{"revoke_all of a user without sessions", me, "u9", map[string]any{"revoke_all": true}, []string{}},
		{"session_ids ignores others' and unknown ids", noSID, "u1",
			map[string]any{"session_ids": []string{"t1-u1-b", "t1-u2", "t2-u3", "t3-u4", "nope"}}, []string{"t1-u1-b"}},
		{"session_ids with revoke_all false", me, "u1", map[string]any{"revoke_all": false, "session_ids": []string{"t1-u1-a"}}, []string{"t1-u1-a"}},
		{"session_ids of nobody's", noSID, "u1", map[string]any{"session_ids": []string{"t1-u2"}}, []string{}},
		{"session_ids repeated", noSID, "u1", map[string]any{"session_ids": []string{"t1-u1-b", "t1-u1-b"}}, []string{"t1-u1-b"}},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, b)
				e.seedWorld(t)
				r := e.post(t, pathTenant("T1")+"/users/"+tc.user+"/revoke", e.token(t, tc.caller), tc.body)
				mustStatus(t, r, http.StatusOK)
				got := mustDecode[envelope[revokeJSON]](t, r).Data
				slices.Sort(got.SessionIDs)
				if diff := cmp.Diff(revokeJSON{RevokedCount: len(tc.revoked), SessionIDs: tc.revoked}, got); diff != "" {
					t.Errorf("revoke (-want +got):\n%s", diff)
				}
				left := slices.DeleteFunc([]string{"t1-u1-a", "t1-u1-b", "t1-u2", "t2-u3", "t3-u4"},
					func(id string) bool { return slices.Contains(tc.revoked, id) })
				if diff := cmp.Diff(left, e.mustListIDs(t, pathAdmin)); diff != "" {
					t.Errorf("sessions left (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestTenantUserRevokeValidation(t *testing.T) {
	cases := []struct {
		name string
		body any
		typ  string
		loc  []any
	}{
		{"empty session_ids", map[string]any{"session_ids": []string{}}, "value_error", []any{"body", "session_ids"}},
		{"no session_ids and no revoke_all", map[string]any{}, "value_error", []any{"body", "session_ids"}},
		{"null session_ids", map[string]any{"session_ids": nil, "revoke_all": false}, "value_error", []any{"body", "session_ids"}},
		{"session_ids not a list", map[string]any{"session_ids": "t1-u1-a"}, "list_type", []any{"body", "session_ids"}},
		{"session_ids item not a string", map[string]any{"session_ids": []any{"t1-u1-a", 5}}, "string_type", []any{"body", "session_ids", 1}},
		{"session_ids item malformed", map[string]any{"session_ids": []any{"a b"}}, "string_pattern_mismatch", []any{"body", "session_ids", 0}},
		{"revoke_all not a boolean", map[string]any{"revoke_all": "yes"}, "bool_type", []any{"body", "revoke_all"}},
		{"except_current not a boolean", map[string]any{"revoke_all": true, "except_current": 2}, "bool_type", []any{"body", "except_current"}},
		{"too many session_ids", map[string]any{"session_ids": make([]string, 1001)}, "too_long", []any{"body", "session_ids"}},
		{"no body", nil, "missing", []any{"body"}},
		{"malformed json", `{"revoke_all": true`, "json_invalid", []any{"body", 19}},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.seedWorld(t)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := mustSnapshot(t, e.rdb)
				r := e.post(t, pathTenant("T1")+"/users/u1/revoke", e.token(t, tenantAdmin), tc.body)
				mustValidationAt(t, r, tc.typ, tc.loc...)
				mustUnchanged(t, e.rdb, before)
			})
		}
	})
}
