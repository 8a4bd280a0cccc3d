package handlers_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/auth"
)

// fullSession has every optional field of a create call.
func fullSession(exp time.Time) sess {
	return sess{
		"id": "s-full", "user_id": "u1", "tenant_id": "T1", "partner_id": "P1",
		"user_email": "u1@example.com", "user_display_name": "User One",
		"ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"device_type": "desktop", "location": "Berlin, DE", "expires_at": exp.Format(time.RFC3339Nano),
	}
}

// fullSessionBody is the exact answer to a create or a read of
// fullSession(exp) created at now, under request id rid; isCurrent says
// whether the caller's token names the session.
func fullSessionBody(now, exp time.Time, isCurrent bool, rid string) string {
	return fmt.Sprintf(`{"data":{"id":"s-full","user_id":"u1",
		"user_email":"u1@example.com","user_display_name":"User One","ip_address":"203.0.113.7",
		"user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"device_type":"desktop","location":"Berlin, DE","is_current":%t,"created_at":%q,
		"last_activity_at":null,"expires_at":%q,"sso_apps":[]},"meta":{"request_id":%q,"timestamp":"<ts>"}}`,
		isCurrent, wt(now), wt(exp), rid)
}

// newFullAndMinEnv is a new env on b holding fullSession, expiring in 2h
// and 678ms, and "s-min", user u2's in minTenant with only what a create
// requires and 60s to live. It returns fullSession's expiry.
func newFullAndMinEnv(t *testing.T, b backend, minTenant string) (*env, time.Time) {
	t.Helper()
	e := newEnv(t, b)
	exp := e.now.Add(2*time.Hour + 678*time.Millisecond)
	e.mustCreate(t, fullSession(exp))
	e.mustCreate(t, sess{"id": "s-min", "user_id": "u2", "tenant_id": minTenant, "ttl_seconds": 60})
	return e, exp
}

func TestAdminGet(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e, exp := newFullAndMinEnv(t, b, "T1")
		cases := []struct {
			name, id string
			caller   auth.MintOptions
			want     string
		}{
			{"every field", "s-full", superAdmin, fullSessionBody(e.now, exp, false, "rid-1")},
			{"missing optional strings are null", "s-min", superAdmin, fmt.Sprintf(`{"data":{"id":"s-min","user_id":"u2",
				"user_email":null,"user_display_name":null,"ip_address":null,"user_agent":null,
				"device_type":"unknown","location":null,"is_current":false,"created_at":%q,
				"last_activity_at":null,"expires_at":%q,"sso_apps":[]},"meta":{"request_id":"rid-1","timestamp":"<ts>"}}`,
				wt(e.now), wt(e.now.Add(time.Minute)))},
			{"is_current for the token's sid", "s-min", auth.MintOptions{Subject: "u2", Role: auth.RoleTenantAdmin, TenantID: "T1", SessionID: "s-min"},
				fmt.Sprintf(`{"data":{"id":"s-min","user_id":"u2",
				"user_email":null,"user_display_name":null,"ip_address":null,"user_agent":null,
				"device_type":"unknown","location":null,"is_current":true,"created_at":%q,
				"last_activity_at":null,"expires_at":%q,"sso_apps":[]},"meta":{"request_id":"rid-1","timestamp":"<ts>"}}`,
					wt(e.now), wt(e.now.Add(time.Minute)))},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do(t, req{Method: "GET", Path: pathAdmin + "/" + tc.id, Token: e.token(t, tc.caller), Header: map[string]string{"X-Request-ID": "rid-1"}})
				mustStatus(t, r, http.StatusOK)
				if got := r.Header.Get("Content-Type"); got != "application/json; charset=utf-8" {
					t.Errorf("Content-Type: got %q, want application/json; charset=utf-8", got)
				}
				mustBody(t, r, tc.want)
			})
		}
	})
}

// TestAdminList: the admin list in the reference's shape, each item naming
// its tenant (the tenant_id extension: the list crosses tenants).
func TestAdminList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e, exp := newFullAndMinEnv(t, b, "T2")
		want := fmt.Sprintf(`{"data":[
			{"id":"s-full","user_id":"u1","user_email":"u1@example.com","ip_address":"203.0.113.7",
			 "user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			 "device_type":"desktop","is_current":false,"created_at":%[1]q,"last_activity_at":null,"expires_at":%[2]q,"app_count":0,"tenant_id":"T1"},
			{"id":"s-min","user_id":"u2","user_email":null,"ip_address":null,"user_agent":null,
			 "device_type":"unknown","is_current":true,"created_at":%[1]q,"last_activity_at":null,"expires_at":%[3]q,"app_count":0,"tenant_id":"T2"}],
			"pagination":{"page":1,"per_page":20,"total_items":2,"total_pages":1},
			"meta":{"request_id":"list-1","timestamp":"<ts>"}}`, wt(e.now), wt(exp), wt(e.now.Add(time.Minute)))
		caller := superAdmin
		caller.SessionID = "s-min"
		for _, path := range []string{pathAdmin, pathAdmin + "/", pathAdmin + "?page=1&per_page=20"} {
			t.Run(path, func(t *testing.T) {
				r := e.do(t, req{Method: "GET", Path: path, Token: e.token(t, caller), Header: map[string]string{"X-Request-ID": "list-1"}})
				mustStatus(t, r, http.StatusOK)
				mustBody(t, r, want)
			})
		}
	})
}

func TestAdminDelete(t *testing.T) {
	forEachWorld(t, func(t *testing.T, e *env) {
		tok := e.token(t, superAdmin)
		r := e.del(t, pathAdmin+"/t1-u2", tok)
		mustStatus(t, r, http.StatusNoContent)
		if len(r.Body) != 0 {
			t.Errorf("204 body: got %q, want empty", r.Body)
		}
		mustDetail(t, e.get(t, pathAdmin+"/t1-u2", tok), http.StatusNotFound)
		mustDetail(t, e.del(t, pathAdmin+"/t1-u2", tok), http.StatusNotFound)
		for path, want := range map[string][]string{
			pathAdmin:                      {"t1-u1-a", "t1-u1-b", "t2-u3", "t3-u4"},
			pathTenant("T1"):               {"t1-u1-a", "t1-u1-b"},
			pathTenant("T1") + "/users/u2": {},
		} {
			if diff := cmp.Diff(want, e.mustListIDs(t, path)); diff != "" {
				t.Errorf("%s after delete (-want +got):\n%s", path, diff)
			}
		}
		st := mustDecode[envelope[statsJSON]](t, e.get(t, pathTenant("T1")+"/stats", tok)).Data
		if st.ActiveSessions != 2 || st.ActiveUsers != 1 || st.SessionsRevokedLast24h != 1 {
			t.Errorf("stats after delete: got %+v, want 2 active sessions, 1 active user, 1 revoked", st)
		}
	})
}

func TestAdminRevokeAll(t *testing.T) {
	// u1 has sessions in T1 and T2 (partner P1) and T3 (partner P2).
	fixture := []sess{
		{"id": "a", "user_id": "u1", "tenant_id": "T1", "partner_id": "P1"},
		{"id": "b", "user_id": "u1", "tenant_id": "T2", "partner_id": "P1"},
		{"id": "c", "user_id": "u1", "tenant_id": "T3", "partner_id": "P2"},
		{"id": "d", "user_id": "u2", "tenant_id": "T1"},
		{"id": "e", "user_id": "u2", "tenant_id": "T3"},
	}
	cases := []struct {
		name    string
		caller  auth.MintOptions
		body    map[string]any
		revoked []string
	}{
		{"user everywhere", superAdmin, map[string]any{"user_id": "u1"}, []string{"a", "b", "c"}},
		{"user in tenant", superAdmin, map[string]any{"user_id": "u1", "tenant_id": "T1"}, []string{"a"}},
		{"tenant", superAdmin, map[string]any{"tenant_id": "T1"}, []string{"a", "d"}},
		{"partner", superAdmin, map[string]any{"partner_id": "P1"}, []string{"a", "b", "d"}},
		{"user in partner", superAdmin, map[string]any{"user_id": "u1", "partner_id": "P2"}, []string{"c"}},
		{"tenant outside partner", superAdmin, map[string]any{"tenant_id": "T3", "partner_id": "P1"}, []string{}},
		{"all three", platformWrite, map[string]any{"user_id": "u2", "tenant_id": "T3", "partner_id": "P2"}, []string{"e"}},
		{"unknown user", superAdmin, map[string]any{"user_id": "nobody"}, []string{}},
		{"partner admin is narrowed to its partner", partnerAdmin, map[string]any{"user_id": "u1"}, []string{"a", "b"}},
		{"partner admin asking another partner", partnerAdmin, map[string]any{"partner_id": "P2"}, []string{}},
		{"tenant admin is narrowed to its tenant", tenantAdmin, map[string]any{"user_id": "u1"}, []string{"a"}},
		{"tenant admin asking another tenant", tenantAdmin, map[string]any{"tenant_id": "T3"}, []string{}},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, b)
				for _, s := range fixture {
					e.mustCreate(t, sess{"id": s["id"], "user_id": s["user_id"], "tenant_id": s["tenant_id"], "partner_id": s["partner_id"]})
				}
				r := e.post(t, pathAdmin+"/revoke-all", e.token(t, tc.caller), tc.body)
				mustStatus(t, r, http.StatusOK)
				got := mustDecode[envelope[revokeJSON]](t, r).Data
				slices.Sort(got.SessionIDs)
				if diff := cmp.Diff(revokeJSON{RevokedCount: len(tc.revoked), SessionIDs: tc.revoked}, got); diff != "" {
					t.Errorf("revoke (-want +got):\n%s", diff)
				}
				var left []string
				for _, s := range fixture {
					if id := s["id"].(string); !slices.Contains(tc.revoked, id) {
						left = append(left, id)
					}
				}
				gotLeft := e.mustListIDs(t, pathAdmin)
				slices.Sort(gotLeft)
				if diff := cmp.Diff(left, gotLeft); diff != "" {
					t.Errorf("sessions left (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestAdminRevokeAllNeedsAFilter(t *testing.T) {
	cases := []struct {
		name string
		body any
		loc  []any
	}{
		{"empty object", map[string]any{}, []any{"body"}},
		{"only nulls", map[string]any{"user_id": nil, "tenant_id": nil}, []any{"body"}},
		{"unknown field only", map[string]any{"session_id": "a"}, []any{"body"}},
		{"no body", nil, []any{"body"}},
		{"wrong type", map[string]any{"user_id": 7}, []any{"body", "user_id"}},
		{"bad tenant id", map[string]any{"tenant_id": "a/b"}, []any{"body", "tenant_id"}},
		{"array body", "[]", []any{"body"}},
	}
	forEachWorld(t, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := mustSnapshot(t, e.rdb)
				r := e.post(t, pathAdmin+"/revoke-all", e.token(t, superAdmin), tc.body)
				mustValidationAt(t, r, "", tc.loc...)
				mustUnchanged(t, e.rdb, before)
			})
		}
	})
}

// TestAdminListAcrossViewShards: the admin list of every session and a
// partner admin's list page the same way whether the views are one key or
// twelve shards, down to the deepest page: the contract's order (expires_at
// descending; equal expiries by id, descending) and exact totals.
func TestAdminListAcrossViewShards(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		var got [][]string
		for _, shards := range []int{1, 12} {
			e := newEnvWith(t, b.client(t), envConfig{viewShards: shards})
			type made struct {
				id, exp, partner string
			}
			var all []made
			for i := range 90 {
				s := e.mustCreate(t, sess{"id": fmt.Sprintf("v%03d", i), "user_id": fmt.Sprintf("u%d", i%9),
					"tenant_id": fmt.Sprintf("T%d", i%5), "partner_id": fmt.Sprintf("P%d", i%5%2+1),
					"ttl_seconds": 3600 + (i*37%20)*60})
				all = append(all, made{s.ID, s.ExpiresAt, fmt.Sprintf("P%d", i%5%2+1)})
			}
			slices.SortFunc(all, func(a, b made) int {
				if c := strings.Compare(b.exp, a.exp); c != 0 {
					return c
				}
				return strings.Compare(b.id, a.id)
			})
			for _, view := range []struct {
				caller  auth.MintOptions
				partner string
			}{{superAdmin, ""}, {partnerAdmin, "P1"}} {
				var want, listed []string
				for _, m := range all {
					if view.partner == "" || m.partner == view.partner {
						want = append(want, m.id)
					}
				}
				tok := e.token(t, view.caller)
				for page := 1; page <= (len(want)+6)/7; page++ {
					r := e.get(t, fmt.Sprintf("%s?page=%d&per_page=7", pathAdmin, page), tok)
					mustStatus(t, r, http.StatusOK)
					env := mustDecode[envelope[[]listItemJSON]](t, r)
					if env.Pagination == nil || env.Pagination.TotalItems != len(want) {
						t.Fatalf("%d shards, %q page %d: pagination %+v, want %d items", shards, view.partner, page, env.Pagination, len(want))
					}
					listed = append(listed, ids(env.Data)...)
				}
				if d := cmp.Diff(want, listed); d != "" {
					t.Errorf("%d shards, partner %q: pages (-want +got):\n%s", shards, view.partner, d)
				}
				got = append(got, listed)
			}
		}
		if d := cmp.Diff(got[:2], got[2:]); d != "" {
			t.Errorf("one key and 12 shards list differently (-one +twelve):\n%s", d)
		}
	})
}
