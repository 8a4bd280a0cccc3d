package handlers_test

import (
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/auth"
)

// callers are the columns of the reach matrix (the reach rules, docs/auth.md), in this order.
var callers = []struct {
	name string
	opts auth.MintOptions
}{
	{"super_admin", superAdmin},
	{"partner_admin_P1", partnerAdmin},
	{"tenant_admin_T1", tenantAdmin},
	{"platform_admin_read", platformRead},
	{"platform_admin_write", platformWrite},
	{"service_sessions_read", serviceRead},
	{"service_sessions_write", serviceWrite},
	{"user_u1", userU1},
}

const (
	ok  = http.StatusOK
	cr  = http.StatusCreated
	nc  = http.StatusNoContent
	nf  = http.StatusNotFound
	fb  = http.StatusForbidden
	bad = http.StatusUnprocessableEntity
)

var newSession = sess{"id": "fresh", "user_id": "u9", "tenant_id": "T1", "ttl_seconds": 600}

// TestReachMatrix runs every endpoint as every kind of caller against the
// world fixture. Sessions out of reach are 404 like missing ones; foreign
// tenants are 403; a refused request changes nothing in Redis.
func TestReachMatrix(t *testing.T) {
	cases := []struct {
		name, method, path string
		body               any
		// want is the status per caller, in the order of callers:
		// super, partner P1, tenant T1, platform read, platform write,
		// service read, service write, user u1.
		want [8]int
	}{
		{"admin list", "GET", pathAdmin, nil, [8]int{ok, ok, ok, ok, ok, fb, fb, fb}},
		{"admin list slash", "GET", pathAdmin + "/", nil, [8]int{ok, ok, ok, ok, ok, fb, fb, fb}},
		{"admin get own tenant", "GET", pathAdmin + "/t1-u2", nil, [8]int{ok, ok, ok, ok, ok, fb, fb, fb}},
		{"admin get other tenant same partner", "GET", pathAdmin + "/t2-u3", nil, [8]int{ok, ok, nf, ok, ok, fb, fb, fb}},
		{"admin get other partner", "GET", pathAdmin + "/t3-u4", nil, [8]int{ok, nf, nf, ok, ok, fb, fb, fb}},
		{"admin get missing", "GET", pathAdmin + "/nope", nil, [8]int{nf, nf, nf, nf, nf, fb, fb, fb}},
		{"admin delete own tenant", "DELETE", pathAdmin + "/t1-u2", nil, [8]int{nc, nc, nc, fb, nc, fb, fb, fb}},
		{"admin delete other partner", "DELETE", pathAdmin + "/t3-u4", nil, [8]int{nc, nf, nf, fb, nc, fb, fb, fb}},
		{"admin revoke-all", "POST", pathAdmin + "/revoke-all", map[string]any{"tenant_id": "T3"}, [8]int{ok, ok, ok, fb, ok, fb, fb, fb}},
		{"tenant list own", "GET", pathTenant("T1"), nil, [8]int{ok, ok, ok, ok, ok, fb, fb, fb}},
		{"tenant list same partner", "GET", pathTenant("T2"), nil, [8]int{ok, ok, fb, ok, ok, fb, fb, fb}},
		{"tenant list other partner", "GET", pathTenant("T3"), nil, [8]int{ok, fb, fb, ok, ok, fb, fb, fb}},
		{"tenant list unknown tenant", "GET", pathTenant("T9"), nil, [8]int{ok, fb, fb, ok, ok, fb, fb, fb}},
		{"tenant stats", "GET", pathTenant("T3") + "/stats", nil, [8]int{ok, fb, fb, ok, ok, fb, fb, fb}},
		{"tenant user list", "GET", pathTenant("T3") + "/users/u4", nil, [8]int{ok, fb, fb, ok, ok, fb, fb, fb}},
		{"tenant get", "GET", pathTenant("T2") + "/t2-u3", nil, [8]int{ok, ok, fb, ok, ok, fb, fb, fb}},
		{"tenant get session of another tenant", "GET", pathTenant("T1") + "/t2-u3", nil, [8]int{nf, nf, nf, nf, nf, fb, fb, fb}},
		{"tenant delete", "DELETE", pathTenant("T1") + "/t1-u2", nil, [8]int{nc, nc, nc, fb, nc, fb, fb, fb}},
		{"tenant delete other partner", "DELETE", pathTenant("T3") + "/t3-u4", nil, [8]int{nc, fb, fb, fb, nc, fb, fb, fb}},
		{"tenant revoke-all", "POST", pathTenant("T3") + "/revoke-all", nil, [8]int{ok, fb, fb, fb, ok, fb, fb, fb}},
		{"tenant user revoke", "POST", pathTenant("T2") + "/users/u3/revoke", map[string]any{"revoke_all": true}, [8]int{ok, ok, fb, fb, ok, fb, fb, fb}},
		{"me list", "GET", pathMe, nil, [8]int{ok, ok, ok, fb, fb, fb, fb, ok}},
		{"me revoke-all", "POST", pathMe + "/revoke-all", nil, [8]int{ok, ok, ok, fb, fb, fb, fb, ok}},
		{"me delete own", "DELETE", pathMe + "/t1-u1-b", nil, [8]int{nf, nf, nf, fb, fb, fb, fb, ok}},
		{"me delete other user's", "DELETE", pathMe + "/t1-u2", nil, [8]int{nf, nf, nf, fb, fb, fb, fb, nf}},
		{"internal create", "POST", pathInternal, newSession, [8]int{fb, fb, fb, fb, fb, fb, cr, fb}},
		{"internal activity", "POST", pathInternal + "/t1-u2/activity", map[string]any{}, [8]int{fb, fb, fb, fb, fb, fb, nc, fb}},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				for i, c := range callers {
					t.Run(c.name, func(t *testing.T) {
						e := newEnv(t, b)
						e.seedWorld(t)
						before := mustSnapshot(t, e.rdb)
						r := e.do(t, req{Method: tc.method, Path: tc.path, Token: e.token(t, c.opts), Body: tc.body})
						if r.Code != tc.want[i] {
							t.Fatalf("%s %s as %s: got %d, want %d; body: %s", tc.method, tc.path, c.name, r.Code, tc.want[i], r.Body)
						}
						if r.Code >= 400 {
							mustDetail(t, r, r.Code)
							mustUnchanged(t, e.rdb, before)
						}
					})
				}
			})
		}
	})
}

// TestReachNarrowsAdminLists checks what each admin kind sees in the admin
// list, with and without filters that leave its reach.
func TestReachNarrowsAdminLists(t *testing.T) {
	all := []string{"t1-u1-a", "t1-u1-b", "t1-u2", "t2-u3", "t3-u4"}
	cases := []struct {
		name   string
		caller auth.MintOptions
		query  string
		want   []string
	}{
		{"super sees all", superAdmin, "", all},
		{"platform read sees all", platformRead, "", all},
		{"partner sees its tenants", partnerAdmin, "", []string{"t1-u1-a", "t1-u1-b", "t1-u2", "t2-u3"}},
		{"partner asking another partner", partnerAdmin, "?partner_id=P2", []string{}},
		{"partner asking a tenant of another partner", partnerAdmin, "?tenant_id=T3", []string{}},
		{"partner asking its tenant", partnerAdmin, "?tenant_id=T2", []string{"t2-u3"}},
		{"partner asking a user of another partner", partnerAdmin, "?user_id=u4", []string{}},
		{"tenant admin sees its tenant", tenantAdmin, "", []string{"t1-u1-a", "t1-u1-b", "t1-u2"}},
		{"tenant admin asking another tenant", tenantAdmin, "?tenant_id=T2", []string{}},
		{"tenant admin asking another partner", tenantAdmin, "?partner_id=P2", []string{}},
		{"tenant admin asking a user", tenantAdmin, "?user_id=u1", []string{"t1-u1-a", "t1-u1-b"}},
		{"tenant admin asking a foreign user", tenantAdmin, "?user_id=u4", []string{}},
		{"super filters by partner", superAdmin, "?partner_id=P2", []string{"t3-u4"}},
		{"super filters by user and tenant", superAdmin, "?user_id=u1&tenant_id=T1", []string{"t1-u1-a", "t1-u1-b"}},
		{"super filters by user and wrong tenant", superAdmin, "?user_id=u1&tenant_id=T2", []string{}},
	}
	forEachWorld(t, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.get(t, pathAdmin+tc.query, e.token(t, tc.caller))
				mustStatus(t, r, http.StatusOK)
				got := mustDecode[envelope[[]listItemJSON]](t, r)
				if diff := cmp.Diff(tc.want, ids(got.Data)); diff != "" {
					t.Errorf("ids (-want +got):\n%s", diff)
				}
				wantPage := pageJSON{Page: 1, PerPage: 20, TotalItems: len(tc.want), TotalPages: (len(tc.want) + 19) / 20}
				if diff := cmp.Diff(&wantPage, got.Pagination); diff != "" {
					t.Errorf("pagination (-want +got):\n%s", diff)
				}
			})
		}
	})
}

// TestReachMissingClaims checks tokens whose role lacks the id that bounds
// it: they never reach more than a plain user; a token that lacks a
// subject is no token at all (401).
func TestReachMissingClaims(t *testing.T) {
	cases := []struct {
		name   string
		caller auth.MintOptions
		method string
		path   string
		want   int
	}{
		{"tenant_admin without tenant_id on tenant endpoint", auth.MintOptions{Subject: "x", Role: auth.RoleTenantAdmin}, "GET", pathTenant("T1"), fb},
		{"tenant_admin without tenant_id on admin endpoint", auth.MintOptions{Subject: "x", Role: auth.RoleTenantAdmin}, "GET", pathAdmin, fb},
		{"partner_admin without partner_id on tenant endpoint", auth.MintOptions{Subject: "x", Role: auth.RolePartnerAdmin}, "GET", pathTenant("T1"), fb},
		{"partner_admin without partner_id on admin get", auth.MintOptions{Subject: "x", Role: auth.RolePartnerAdmin}, "GET", pathAdmin + "/t1-u2", fb},
		{"user without sub on me", auth.MintOptions{TenantID: "T1", SessionID: "t1-u1-a"}, "GET", pathMe, http.StatusUnauthorized},
		{"user without sub on me revoke-all", auth.MintOptions{TenantID: "T1", SessionID: "t1-u1-a"}, "POST", pathMe + "/revoke-all", http.StatusUnauthorized},
		{"user without sub on me delete", auth.MintOptions{TenantID: "T1", SessionID: "t1-u1-a"}, "DELETE", pathMe + "/t1-u1-a", http.StatusUnauthorized},
		{"tenant_admin of T1 on T1 tenant endpoint", tenantAdmin, "GET", pathTenant("T1"), ok},
		{"platform without scope on admin", auth.MintOptions{Subject: "p", Platform: true}, "GET", pathAdmin, fb},
		{"platform without scope on tenant", auth.MintOptions{Subject: "p", Platform: true}, "GET", pathTenant("T1"), fb},
		{"platform admin:read on tenant write", platformRead, "POST", pathTenant("T1") + "/revoke-all", fb},
		{"service without scope on internal", mustService(""), "POST", pathInternal, fb},
	}
	forEachWorld(t, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := mustSnapshot(t, e.rdb)
				body := any(nil)
				if tc.method == "POST" {
					body = map[string]any(newSession)
				}
				r := e.do(t, req{Method: tc.method, Path: tc.path, Token: e.token(t, tc.caller), Body: body})
				if r.Code != tc.want {
					t.Fatalf("got %d, want %d; body: %s", r.Code, tc.want, r.Body)
				}
				if r.Code >= 400 {
					mustDetail(t, r, tc.want)
					mustUnchanged(t, e.rdb, before)
				}
			})
		}
	})
}

// TestReachAdoptedSessions: a tenant's sessions created without partner_id
// before any create named its partner become that partner's when one does
// (the reach rules, docs/auth.md), on every endpoint its partner admin uses, as on the tenant
// endpoints. Tenant TA: a-1 (u1) and a-2 (u2, mobile) without partner, then
// a-3 (u1) with partner P1.
func TestReachAdoptedSessions(t *testing.T) {
	fixture := []sess{
		{"id": "a-1", "user_id": "u1", "tenant_id": "TA", "ttl_seconds": 3600, "device_type": "desktop"},
		{"id": "a-2", "user_id": "u2", "tenant_id": "TA", "ttl_seconds": 3500, "device_type": "mobile"},
		{"id": "a-3", "user_id": "u1", "tenant_id": "TA", "partner_id": "P1", "ttl_seconds": 3400, "device_type": "desktop"},
	}
	all := []string{"a-1", "a-2", "a-3"}
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		// check inspects the answer; left is what a super admin lists after.
		check func(t *testing.T, r response)
		left  []string
	}{
		{name: "admin list", method: "GET", path: pathAdmin, status: ok, check: listed(all), left: all},
		{name: "admin list by partner", method: "GET", path: pathAdmin + "?partner_id=P1", status: ok, check: listed(all), left: all},
		{name: "admin list by tenant", method: "GET", path: pathAdmin + "?tenant_id=TA", status: ok, check: listed(all), left: all},
		{name: "admin list by user", method: "GET", path: pathAdmin + "?user_id=u1", status: ok, check: listed([]string{"a-1", "a-3"}), left: all},
		{name: "admin get", method: "GET", path: pathAdmin + "/a-1", status: ok, left: all},
		{name: "tenant list", method: "GET", path: pathTenant("TA"), status: ok, check: listed(all), left: all},
		{name: "tenant get", method: "GET", path: pathTenant("TA") + "/a-2", status: ok, left: all},
		{name: "tenant stats", method: "GET", path: pathTenant("TA") + "/stats", status: ok, check: func(t *testing.T, r response) {
			got := mustDecode[envelope[statsJSON]](t, r).Data
			if got.ActiveSessions != 3 || got.ActiveUsers != 2 || got.SessionsByDeviceType["mobile"] != 1 {
				t.Errorf("stats %+v, want 3 sessions, 2 users, 1 mobile", got)
			}
		}, left: all},
		{name: "admin delete", method: "DELETE", path: pathAdmin + "/a-2", status: nc, left: []string{"a-1", "a-3"}},
		{name: "admin revoke-all by partner", method: "POST", path: pathAdmin + "/revoke-all", body: map[string]any{"partner_id": "P1"},
			status: ok, check: revoked(all), left: []string{}},
		{name: "admin revoke-all by user", method: "POST", path: pathAdmin + "/revoke-all", body: map[string]any{"user_id": "u1"},
			status: ok, check: revoked([]string{"a-1", "a-3"}), left: []string{"a-2"}},
		{name: "tenant revoke-all", method: "POST", path: pathTenant("TA") + "/revoke-all", status: ok, check: revoked(all), left: []string{}},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, b)
				for _, s := range fixture {
					e.mustCreate(t, maps.Clone(s))
				}
				r := e.do(t, req{Method: tc.method, Path: tc.path, Token: e.token(t, partnerAdmin), Body: tc.body})
				if r.Code != tc.status {
					t.Fatalf("%s %s as partner admin P1: got %d, want %d; body: %s", tc.method, tc.path, r.Code, tc.status, r.Body)
				}
				if tc.check != nil {
					tc.check(t, r)
				}
				if got := e.mustListIDs(t, pathAdmin); !slices.Equal(got, tc.left) {
					t.Errorf("left %v, want %v", got, tc.left)
				}
				// The partner admin's view agrees with the super admin's.
				r = e.get(t, pathAdmin, e.token(t, partnerAdmin))
				if got := ids(mustDecode[envelope[[]listItemJSON]](t, r).Data); !slices.Equal(got, tc.left) {
					t.Errorf("partner admin lists %v after, want %v", got, tc.left)
				}
			})
		}
	})
}

// listed checks a list answer holds exactly want, in order, with its total.
func listed(want []string) func(t *testing.T, r response) {
	return func(t *testing.T, r response) {
		t.Helper()
		got := mustDecode[envelope[[]listItemJSON]](t, r)
		if !slices.Equal(ids(got.Data), want) || got.Pagination == nil || got.Pagination.TotalItems != len(want) {
			t.Errorf("listed %v (pagination %+v), want %v", ids(got.Data), got.Pagination, want)
		}
	}
}

// revoked checks a revocation answer names exactly want.
func revoked(want []string) func(t *testing.T, r response) {
	return func(t *testing.T, r response) {
		t.Helper()
		got := mustDecode[envelope[revokeJSON]](t, r).Data
		if !sameSet(got.SessionIDs, want) || got.RevokedCount != len(want) {
			t.Errorf("revoked %d %v, want %v", got.RevokedCount, got.SessionIDs, want)
		}
	}
}
