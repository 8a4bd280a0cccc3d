package handlers_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// listPaths are the paginated lists, all answered for a super admin.
var listPaths = []string{pathAdmin, pathTenant("T1"), pathTenant("T1") + "/users/u1"}

// TestQueryValidation sends bad query parameters to every paginated list.
func TestQueryValidation(t *testing.T) {
	cases := []struct {
		name, query string
		typ         string
		loc         []any
		only        string // "" = every list path
	}{
		{"per_page 0", "per_page=0", "greater_than_equal", []any{"query", "per_page"}, ""},
		{"per_page 101", "per_page=101", "less_than_equal", []any{"query", "per_page"}, ""},
		{"per_page abc", "per_page=abc", "int_parsing", []any{"query", "per_page"}, ""},
		{"per_page empty", "per_page=", "int_parsing", []any{"query", "per_page"}, ""},
		{"per_page fraction", "per_page=1.5", "int_parsing", []any{"query", "per_page"}, ""},
		{"page 0", "page=0", "greater_than_equal", []any{"query", "page"}, ""},
		{"page -1", "page=-1", "greater_than_equal", []any{"query", "page"}, ""},
		{"page huge", "page=99999999999999999999", "int_parsing", []any{"query", "page"}, ""},
		{"active_only maybe", "active_only=maybe", "bool_parsing", []any{"query", "active_only"}, "tenant"},
		{"user_id with a space", "user_id=a%20b", "string_pattern_mismatch", []any{"query", "user_id"}, "no-user-path"},
		{"tenant_id with a slash", "tenant_id=a/b", "string_pattern_mismatch", []any{"query", "tenant_id"}, pathAdmin},
		{"partner_id with a star", "partner_id=p*", "string_pattern_mismatch", []any{"query", "partner_id"}, pathAdmin},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.seedWorld(t)
		tok := e.token(t, superAdmin)
		for _, path := range listPaths {
			for _, tc := range cases {
				switch {
				case tc.only == "tenant" && path == pathAdmin,
					tc.only == "no-user-path" && path == listPaths[2],
					tc.only == pathAdmin && path != pathAdmin:
					continue
				}
				t.Run(path+"?"+tc.query, func(t *testing.T) {
					before := mustSnapshot(t, e.rdb)
					mustValidationAt(t, e.get(t, path+"?"+tc.query, tok), tc.typ, tc.loc...)
					mustUnchanged(t, e.rdb, before)
				})
			}
		}
	})
}

// TestPathValidation sends malformed and unknown ids to every endpoint with
// a path parameter: malformed ones are 422 at ["path", name], unknown ones
// 404; neither changes anything.
func TestPathValidation(t *testing.T) {
	long := string(make128('s')) + "s"
	cases := []struct {
		name, method, path string
		caller             string
		status             int
		loc                []any
	}{
		{"admin get malformed", "GET", pathAdmin + "/bad.id", "super", bad, []any{"path", "session_id"}},
		{"admin get too long", "GET", pathAdmin + "/" + long, "super", bad, []any{"path", "session_id"}},
		{"admin get non-ascii", "GET", pathAdmin + "/%C3%A9t%C3%A9", "super", bad, []any{"path", "session_id"}},
		{"admin get unknown", "GET", pathAdmin + "/unknown", "super", nf, nil},
		{"admin get longest valid unknown", "GET", pathAdmin + "/" + long[:128], "super", nf, nil},
		{"admin delete malformed", "DELETE", pathAdmin + "/bad.id", "super", bad, []any{"path", "session_id"}},
		{"admin delete unknown", "DELETE", pathAdmin + "/unknown", "super", nf, nil},
		{"tenant get malformed", "GET", pathTenant("T1") + "/bad.id", "super", bad, []any{"path", "session_id"}},
		{"tenant get unknown", "GET", pathTenant("T1") + "/unknown", "super", nf, nil},
		{"tenant delete malformed", "DELETE", pathTenant("T1") + "/a%20b", "super", bad, []any{"path", "session_id"}},
		{"tenant delete unknown", "DELETE", pathTenant("T1") + "/unknown", "super", nf, nil},
		{"tenant id malformed", "GET", pathTenant("T!1"), "super", bad, []any{"path", "tenant_id"}},
		{"tenant id malformed on stats", "GET", pathTenant("T!1") + "/stats", "super", bad, []any{"path", "tenant_id"}},
		{"tenant id malformed on revoke-all", "POST", pathTenant("T!1") + "/revoke-all", "super", bad, []any{"path", "tenant_id"}},
		{"user id malformed", "GET", pathTenant("T1") + "/users/a%20b", "super", bad, []any{"path", "user_id"}},
		{"user id malformed on revoke", "POST", pathTenant("T1") + "/users/a%20b/revoke", "super", bad, []any{"path", "user_id"}},
		{"me delete malformed", "DELETE", pathMe + "/bad.id", "user", bad, []any{"path", "session_id"}},
		{"me delete unknown", "DELETE", pathMe + "/unknown", "user", nf, nil},
		{"activity malformed", "POST", pathInternal + "/bad.id/activity", "service", bad, []any{"path", "session_id"}},
		{"activity unknown", "POST", pathInternal + "/unknown/activity", "service", nf, nil},
		{"unknown route", "GET", "/api/v1/nothing", "super", nf, nil},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.seedWorld(t)
		toks := map[string]string{
			"super": e.token(t, superAdmin), "user": e.token(t, userU1), "service": e.token(t, serviceWrite),
		}
		list := e.mustListIDs(t, pathAdmin)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := mustSnapshot(t, e.rdb)
				var body any
				if tc.method == "POST" {
					body = map[string]any{"revoke_all": true}
				}
				r := e.do(t, req{Method: tc.method, Path: tc.path, Token: toks[tc.caller], Body: body})
				if tc.loc != nil {
					mustValidationAt(t, r, "string_pattern_mismatch", tc.loc...)
				} else {
					mustDetail(t, r, tc.status)
				}
				mustUnchanged(t, e.rdb, before)
				if diff := cmp.Diff(list, e.mustListIDs(t, pathAdmin)); diff != "" {
					t.Errorf("list changed (-before +after):\n%s", diff)
				}
			})
		}
	})
}

// TestMethodNotAllowed checks that a known path with the wrong method is a
// JSON 405, not a 404 or a redirect.
func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, backends[0])
	for _, tc := range []struct{ method, path string }{
		{"PUT", pathAdmin},
		{"PATCH", pathAdmin + "/x"},
		{"GET", pathInternal},
		{"POST", "/healthz"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			mustDetail(t, e.do(t, req{Method: tc.method, Path: tc.path, Token: e.token(t, superAdmin)}), http.StatusMethodNotAllowed)
		})
	}
}
