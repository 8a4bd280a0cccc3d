package handlers_test

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sessiond/sessiond/pkg/auth"
)

func TestTenantLists(t *testing.T) {
	forEachWorld(t, func(t *testing.T, e *env) {
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
		mustBody(t, r, fullSessionBody(e.now, exp, true, "tg-1"))

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
	forEachWorld(t, func(t *testing.T, e *env) {
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
	forEachWorld(t, func(t *testing.T, e *env) {
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

// TestPagination creates 45 sessions of u1 in T1 and 10 of u1 in T2 with
// interleaved expiries, and pages through every list that holds them: pages
// are exact, a page past the end is empty with the true totals, and order is
// expires_at descending across pages and across tenants.
func TestPagination(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		type created struct {
			id  string
			exp time.Time
		}
		var t1, all []created
		for i := range 45 {
			c := created{fmt.Sprintf("a%02d", i), e.now.Add(time.Duration(2000+10*i) * time.Second)}
			e.mustCreate(t, sess{"id": c.id, "user_id": "u1", "tenant_id": "T1", "partner_id": "P1", "ttl_seconds": 2000 + 10*i})
			t1, all = append(t1, c), append(all, c)
		}
		for j := range 10 {
			c := created{fmt.Sprintf("b%02d", j), e.now.Add(time.Duration(2005+40*j) * time.Second)}
			e.mustCreate(t, sess{"id": c.id, "user_id": "u1", "tenant_id": "T2", "partner_id": "P1", "ttl_seconds": 2005 + 40*j})
			all = append(all, c)
		}
		order := func(cs []created) []string {
			cs = slices.Clone(cs)
			slices.SortFunc(cs, func(a, b created) int { return b.exp.Compare(a.exp) })
			out := make([]string, len(cs))
			for i, c := range cs {
				out[i] = c.id
			}
			return out
		}
		lists := []struct {
			name, path string
			want       []string
		}{
			{"tenant", pathTenant("T1"), order(t1)},
			{"tenant user", pathTenant("T1") + "/users/u1", order(t1)},
			{"admin tenant filter", pathAdmin + "?tenant_id=T1", order(t1)},
			{"admin all", pathAdmin, order(all)},
			{"admin partner", pathAdmin + "?partner_id=P1", order(all)},
			{"admin user across tenants", pathAdmin + "?user_id=u1", order(all)},
		}
		tok := e.token(t, superAdmin)
		before := mustSnapshot(t, e.rdb)
		for _, l := range lists {
			for _, perPage := range []int{20, 7, 1, 100} {
				t.Run(fmt.Sprintf("%s per_page %d", l.name, perPage), func(t *testing.T) {
					n := len(l.want)
					pages := (n + perPage - 1) / perPage
					var got []string
					for page := 1; page <= pages+1; page++ {
						r := e.get(t, withQuery(l.path, fmt.Sprintf("page=%d&per_page=%d", page, perPage)), tok)
						mustStatus(t, r, http.StatusOK)
						env := mustDecode[envelope[[]listItemJSON]](t, r)
						wantLen := min(perPage, max(0, n-(page-1)*perPage))
						if len(env.Data) != wantLen {
							t.Errorf("page %d: got %d items, want %d", page, len(env.Data), wantLen)
						}
						if env.Data == nil {
							t.Errorf("page %d: data is null, want a list", page)
						}
						want := pageJSON{Page: page, PerPage: perPage, TotalItems: n, TotalPages: pages}
						if diff := cmp.Diff(&want, env.Pagination); diff != "" {
							t.Errorf("page %d pagination (-want +got):\n%s", page, diff)
						}
						got = append(got, ids(env.Data)...)
					}
					if diff := cmp.Diff(l.want, got); diff != "" {
						t.Errorf("ids over all pages (-want +got):\n%s", diff)
					}
				})
			}
		}
		t.Run("default page size", func(t *testing.T) {
			env := mustDecode[envelope[[]listItemJSON]](t, e.get(t, pathTenant("T1"), tok))
			want := pageJSON{Page: 1, PerPage: 20, TotalItems: 45, TotalPages: 3}
			if diff := cmp.Diff(&want, env.Pagination); diff != "" || len(env.Data) != 20 {
				t.Errorf("pagination (-want +got):\n%s; got %d items, want 20", diff, len(env.Data))
			}
		})
		t.Run("far past the end", func(t *testing.T) {
			env := mustDecode[envelope[[]listItemJSON]](t, e.get(t, pathAdmin+"?page=1000000&per_page=100", tok))
			want := pageJSON{Page: 1000000, PerPage: 100, TotalItems: 55, TotalPages: 1}
			if diff := cmp.Diff(&want, env.Pagination); diff != "" || len(env.Data) != 0 {
				t.Errorf("pagination (-want +got):\n%s; got %d items, want 0", diff, len(env.Data))
			}
		})
		mustUnchanged(t, e.rdb, before)
	})
}

// withQuery appends query to path, after "?" or "&".
func withQuery(path, query string) string {
	if strings.Contains(path, "?") {
		return path + "&" + query
	}
	return path + "?" + query
}

// TestPaginationTies checks that sessions with the same expiry have one
// order (by id), stable across pages.
func TestPaginationTies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		want := []string{"k5", "k4", "k3", "k2", "k1"}
		for _, id := range []string{"k3", "k1", "k5", "k2", "k4"} {
			e.mustCreate(t, sess{"id": id, "user_id": "u1", "tenant_id": "T1", "ttl_seconds": 600})
		}
		tok := e.token(t, superAdmin)
		for _, path := range []string{pathTenant("T1"), pathTenant("T1") + "/users/u1", pathAdmin} {
			t.Run(path, func(t *testing.T) {
				var got []string
				for page := 1; page <= 3; page++ {
					r := e.get(t, withQuery(path, fmt.Sprintf("per_page=2&page=%d", page)), tok)
					got = append(got, ids(mustDecode[envelope[[]listItemJSON]](t, r).Data)...)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("ids (-want +got):\n%s", diff)
				}
			})
		}
	})
}

// TestCrossTenantTieOrderByID fails while the cross-tenant views
// (ix:{#g}, ix:{p:P}) break expiry ties by their member "T/sid", that is by
// tenant first, whereas session.Store.List promises "expiry descending, then
// id descending" (the wire format: "then id") and the per-tenant and per-user lists
// keep it: sessions a (tenant T2) and b (tenant T1) with one expiry list as
// [b a] for ?user_id=u1 but [a b] unfiltered or by partner.
func TestCrossTenantTieOrderByID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.mustCreate(t, sess{"id": "a", "user_id": "u1", "tenant_id": "T2", "partner_id": "P1", "ttl_seconds": 600})
		e.mustCreate(t, sess{"id": "b", "user_id": "u1", "tenant_id": "T1", "partner_id": "P1", "ttl_seconds": 600})
		for _, path := range []string{pathAdmin + "?user_id=u1", pathAdmin, pathAdmin + "?partner_id=P1"} {
			if diff := cmp.Diff([]string{"b", "a"}, e.mustListIDs(t, path)); diff != "" {
				t.Errorf("%s: ids (-want +got):\n%s", path, diff)
			}
		}
	})
}

func TestTenantStats(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		for _, s := range []sess{
			{"id": "d1", "user_id": "u1", "tenant_id": "T1", "device_type": "desktop"},
			{"id": "d2", "user_id": "u1", "tenant_id": "T1", "device_type": "desktop"},
			{"id": "m1", "user_id": "u2", "tenant_id": "T1", "device_type": "mobile"},
			{"id": "t1", "user_id": "u2", "tenant_id": "T1", "device_type": "tablet"},
			{"id": "b1", "user_id": "u3", "tenant_id": "T1", "user_agent": "curl/8.5.0"},
			{"id": "x1", "user_id": "u4", "tenant_id": "T1", "device_type": "mobile"},
			{"id": "o1", "user_id": "u1", "tenant_id": "T2", "device_type": "desktop"},
		} {
			e.mustCreate(t, s)
		}
		tok := e.token(t, tenantAdmin)
		mustStatus(t, e.del(t, pathTenant("T1")+"/x1", tok), http.StatusNoContent)

		cases := []struct {
			name, tenant string
			caller       auth.MintOptions
			want         statsJSON
		}{
			{"tenant with sessions", "T1", tenantAdmin, statsJSON{
				TenantID: "T1", ActiveSessions: 5, ActiveUsers: 3,
				SessionsByDeviceType:   map[string]int{"desktop": 2, "mobile": 1, "tablet": 1, "bot": 1, "unknown": 0},
				SessionsCreatedLast24h: 6, SessionsRevokedLast24h: 1,
			}},
			{"tenant without sessions", "T9", superAdmin, statsJSON{
				TenantID: "T9", SessionsByDeviceType: map[string]int{"desktop": 0, "mobile": 0, "tablet": 0, "bot": 0, "unknown": 0},
			}},
		}
		t.Run("exact body", func(t *testing.T) {
			r := e.do(t, req{Method: "GET", Path: pathTenant("T1") + "/stats", Token: tok, Header: map[string]string{"X-Request-ID": "st-1"}})
			mustStatus(t, r, http.StatusOK)
			mustBody(t, r, `{"data":{"tenant_id":"T1","active_sessions":5,"active_users":3,
				"sessions_by_device_type":{"desktop":2,"mobile":1,"tablet":1,"bot":1,"unknown":0},
				"sessions_created_last_24h":6,"sessions_revoked_last_24h":1,"generated_at":"<ts>"},
				"meta":{"request_id":"st-1","timestamp":"<ts>"}}`)
		})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.get(t, pathTenant(tc.tenant)+"/stats", e.token(t, tc.caller))
				mustStatus(t, r, http.StatusOK)
				env := mustDecode[envelope[statsJSON]](t, r)
				mustWireTime(t, "generated_at", env.Data.GeneratedAt)
				mustWireTime(t, "meta.timestamp", env.Meta.Timestamp)
				env.Data.GeneratedAt = ""
				if diff := cmp.Diff(tc.want, env.Data); diff != "" {
					t.Errorf("stats (-want +got):\n%s", diff)
				}
				if env.Pagination != nil {
					t.Errorf("pagination: got %+v, want none", env.Pagination)
				}
			})
		}
	})
}

// TestHistoryAndAudit revokes through every revoke route with history on,
// then reads the ended sessions and the audit through the tenant routes.
func TestHistoryAndAudit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnvWith(t, b.client(t), envConfig{history: true})
		for i, id := range []string{"h-admin", "h-tenant", "h-me", "h-user-1", "h-user-2", "h-all-1", "h-me-keep", "h-me-other"} {
			user := map[string]string{"h-user-1": "u7", "h-user-2": "u7", "h-me": "u1", "h-me-keep": "u1", "h-me-other": "u1"}[id]
			if user == "" {
				user = "u9"
			}
			e.mustCreate(t, sess{"id": id, "user_id": user, "tenant_id": "T1", "partner_id": "P1", "ttl_seconds": 3600 - i})
		}
		super, ta := e.token(t, superAdmin), e.token(t, tenantAdmin)
		me := e.token(t, auth.MintOptions{Subject: "u1", TenantID: "T1", SessionID: "h-me-keep"})
		ops := []struct {
			name   string
			do     func() response
			reason string
			actor  string
			target string
			ids    []string
		}{
			{"admin one", func() response { return e.del(t, pathAdmin+"/h-admin", super) }, "admin_revoke", "root", "session", []string{"h-admin"}},
			{"tenant one", func() response { return e.del(t, pathTenant("T1")+"/h-tenant", ta) }, "tenant_revoke", "tadmin", "session", []string{"h-tenant"}},
			{"me one", func() response { return e.del(t, pathMe+"/h-me", me) }, "user_revoke", "u1", "session", []string{"h-me"}},
			{"me others", func() response { return e.post(t, pathMe+"/revoke-all", me, nil) }, "user_revoke_others", "u1", "user", []string{"h-me-other"}},
			{"user", func() response {
				return e.post(t, pathTenant("T1")+"/users/u7/revoke", ta, map[string]any{"revoke_all": true})
			}, "user_revoke_admin", "tadmin", "user", []string{"h-user-1", "h-user-2"}},
			{"admin revoke-all", func() response {
				return e.post(t, pathAdmin+"/revoke-all", super, map[string]any{"user_id": "u9", "tenant_id": "T1"})
			}, "admin_revoke_all", "root", "filter:user_id=u9,tenant_id=T1", []string{"h-all-1"}},
		}
		ended := map[string]string{}
		for _, op := range ops {
			r := op.do()
			if r.Code != http.StatusOK && r.Code != http.StatusNoContent {
				t.Fatalf("%s: status %d: %s", op.name, r.Code, r.Body)
			}
			for _, id := range op.ids {
				ended[id] = op.reason
			}
		}
		// Revoking an ended session again: 404, and no new entry.
		mustStatus(t, e.del(t, pathTenant("T1")+"/h-tenant", ta), http.StatusNotFound)
		mustStatus(t, e.del(t, pathAdmin+"/h-tenant", super), http.StatusNotFound)
		if r := e.post(t, pathTenant("T1")+"/users/u7/revoke", ta, map[string]any{"revoke_all": true}); r.Code != http.StatusOK || mustDecode[envelope[revokeJSON]](t, r).Data.RevokedCount != 0 {
			t.Errorf("revoking u7 again: %d %s, want 200 with revoked_count 0", r.Code, r.Body)
		}

		// active_only=false lists both, ended ones with their fields.
		r := e.get(t, pathTenant("T1")+"?active_only=false&per_page=100", ta)
		mustStatus(t, r, http.StatusOK)
		list := mustDecode[envelope[[]listItemJSON]](t, r)
		if list.Pagination.TotalItems != 8 || len(list.Data) != 8 {
			t.Fatalf("active_only=false: total %d, %d items; want 8", list.Pagination.TotalItems, len(list.Data))
		}
		for _, it := range list.Data {
			reason, isEnded := ended[it.ID]
			switch {
			case isEnded && (it.Status != "revoked" || it.RevokeReason != reason || it.EndedAt == "" || it.RevokedBy == ""):
				t.Errorf("%s: %+v, want revoked (%s)", it.ID, it.EndingJSON, reason)
			case !isEnded && (it.Status != "active" || it.EndedAt != "" || it.RevokedBy != ""):
				t.Errorf("%s: %+v, want active", it.ID, it.EndingJSON)
			}
		}
		// The default list and the user's own list stay active-only and
		// carry no extension field.
		r = e.get(t, pathTenant("T1"), ta)
		if got := ids(mustDecode[envelope[[]listItemJSON]](t, r).Data); !slices.Equal(got, []string{"h-me-keep"}) || strings.Contains(string(r.Body), `"status"`) {
			t.Errorf("default list: %v (%s), want [h-me-keep] without status", got, r.Body)
		}
		if got := e.mustListIDsAs(t, pathMe, me); !slices.Equal(got, []string{"h-me-keep"}) {
			t.Errorf("/me list: %v, want [h-me-keep]", got)
		}
		r = e.get(t, pathTenant("T1")+"/users/u7?active_only=false", ta)
		if got := ids(mustDecode[envelope[[]listItemJSON]](t, r).Data); !slices.Equal(got, []string{"h-user-1", "h-user-2"}) {
			t.Errorf("user list with ended: %v", got)
		}

		// One ended session by id, for admins in reach; out of reach 404/403.
		for _, path := range []string{pathTenant("T1") + "/h-tenant", pathAdmin + "/h-tenant"} {
			r := e.get(t, path, super)
			mustStatus(t, r, http.StatusOK)
			s := mustDecode[envelope[sessionJSON]](t, r).Data
			if s.Status != "revoked" || s.RevokedBy != "tadmin" || s.RevokeReason != "tenant_revoke" || s.UserID != "u9" {
				t.Errorf("GET %s: %+v", path, s)
			}
		}
		mustStatus(t, e.get(t, pathAdmin+"/h-tenant", e.token(t, auth.MintOptions{Subject: "p2", Role: auth.RolePartnerAdmin, PartnerID: "P2"})), http.StatusNotFound)
		mustStatus(t, e.get(t, pathTenant("T1")+"/h-tenant", e.token(t, auth.MintOptions{Subject: "t3", Role: auth.RoleTenantAdmin, TenantID: "T3"})), http.StatusForbidden)

		// The audit: one entry per operation that revoked, newest first.
		r = e.get(t, pathTenant("T1")+"/audit?per_page=100", ta)
		mustStatus(t, r, http.StatusOK)
		audit := mustDecode[envelope[[]auditJSON]](t, r)
		if audit.Pagination.TotalItems != len(ops) || len(audit.Data) != len(ops) {
			t.Fatalf("audit: total %d, %d entries; want %d: %s", audit.Pagination.TotalItems, len(audit.Data), len(ops), r.Body)
		}
		for i, op := range ops {
			got := audit.Data[len(ops)-1-i]
			sort.Strings(got.SessionIDs)
			if got.Reason != op.reason || got.Actor != op.actor || got.Target != op.target || got.RevokedCount != len(op.ids) || !slices.Equal(got.SessionIDs, op.ids) {
				t.Errorf("audit of %s: %+v", op.name, got)
			}
		}
		if audit.Data[0].ActorRole != "super_admin" || audit.Data[len(ops)-1].ActorRole != "super_admin" || audit.Data[1].ActorRole != "tenant_admin" {
			t.Errorf("actor roles: %q, %q, %q", audit.Data[0].ActorRole, audit.Data[1].ActorRole, audit.Data[len(ops)-1].ActorRole)
		}
		r = e.get(t, pathTenant("T1")+"/audit?page=9&per_page=5", ta)
		if page := mustDecode[envelope[[]auditJSON]](t, r); len(page.Data) != 0 || page.Pagination.TotalItems != len(ops) {
			t.Errorf("audit past the end: %s", r.Body)
		}
		mustStatus(t, e.get(t, pathTenant("T1")+"/audit", e.token(t, auth.MintOptions{Subject: "t3", Role: auth.RoleTenantAdmin, TenantID: "T3"})), http.StatusForbidden)
		mustStatus(t, e.get(t, pathTenant("T1")+"/audit", me), http.StatusForbidden)
		mustValidationAt(t, e.get(t, pathTenant("T1")+"?active_only=maybe", ta), "bool_parsing", "query", "active_only")
	})
}
