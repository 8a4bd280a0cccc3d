package handlers_test

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestCreateValidation sends bad create bodies: each answers a FastAPI 422
// at the field's location and changes nothing in Redis.
func TestCreateValidation(t *testing.T) {
	valid := func(extra map[string]any, drop ...string) map[string]any {
		m := map[string]any{"user_id": "u1", "tenant_id": "T1", "ttl_seconds": 60}
		for _, d := range drop {
			delete(m, d)
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	maxSec := int(maxLifetime / time.Second)
	cases := []struct {
		name string
		body any
		typ  string
		loc  []any
	}{
		{"missing user_id", valid(nil, "user_id"), "missing", []any{"body", "user_id"}},
		{"missing tenant_id", valid(nil, "tenant_id"), "missing", []any{"body", "tenant_id"}},
		{"null user_id", valid(map[string]any{"user_id": nil}), "missing", []any{"body", "user_id"}},
		{"user_id not a string", valid(map[string]any{"user_id": 123}), "string_type", []any{"body", "user_id"}},
		{"tenant_id with a slash", valid(map[string]any{"tenant_id": "a/b"}), "string_pattern_mismatch", []any{"body", "tenant_id"}},
		{"tenant_id not a string", valid(map[string]any{"tenant_id": []string{"T1"}}), "string_type", []any{"body", "tenant_id"}},
		{"id with a space", valid(map[string]any{"id": "bad id"}), "string_pattern_mismatch", []any{"body", "id"}},
		{"id too long", valid(map[string]any{"id": string(make128('a')) + "a"}), "string_pattern_mismatch", []any{"body", "id"}},
		{"ttl zero", valid(map[string]any{"ttl_seconds": 0}), "greater_than", []any{"body", "ttl_seconds"}},
		{"ttl negative", valid(map[string]any{"ttl_seconds": -5}), "greater_than", []any{"body", "ttl_seconds"}},
		{"ttl beyond max lifetime", valid(map[string]any{"ttl_seconds": maxSec + 1}), "less_than_equal", []any{"body", "ttl_seconds"}},
		{"ttl a string", valid(map[string]any{"ttl_seconds": "60"}), "int_type", []any{"body", "ttl_seconds"}},
		{"ttl a fraction", valid(map[string]any{"ttl_seconds": 1.5}), "int_type", []any{"body", "ttl_seconds"}},
		{"expires_at in the past", valid(map[string]any{"expires_at": "2001-01-01T00:00:00Z"}, "ttl_seconds"), "value_error", []any{"body", "expires_at"}},
		{"expires_at beyond max lifetime", valid(map[string]any{"expires_at": time.Now().Add(maxLifetime + time.Hour).Format(time.RFC3339)}, "ttl_seconds"), "value_error", []any{"body", "expires_at"}},
		{"expires_at not a datetime", valid(map[string]any{"expires_at": "tomorrow"}, "ttl_seconds"), "datetime_from_date_parsing", []any{"body", "expires_at"}},
		{"expires_at empty", valid(map[string]any{"expires_at": ""}, "ttl_seconds"), "datetime_from_date_parsing", []any{"body", "expires_at"}},
		{"expires_at empty and ttl null", valid(map[string]any{"expires_at": "", "ttl_seconds": nil}), "datetime_from_date_parsing", []any{"body", "expires_at"}},
		{"expires_at too long", valid(map[string]any{"expires_at": strings.Repeat("9", 65)}, "ttl_seconds"), "string_too_long", []any{"body", "expires_at"}},
		{"expires_at a number", valid(map[string]any{"expires_at": 1700000000}, "ttl_seconds"), "string_type", []any{"body", "expires_at"}},
		{"both expires_at and ttl", valid(map[string]any{"expires_at": time.Now().Add(time.Hour).Format(time.RFC3339)}), "value_error", []any{"body"}},
		{"neither expires_at nor ttl", valid(nil, "ttl_seconds"), "missing", []any{"body", "expires_at"}},
		{"ip not an address", valid(map[string]any{"ip_address": "not-an-ip"}), "ip_any_address", []any{"body", "ip_address"}},
		{"ip out of range", valid(map[string]any{"ip_address": "300.1.1.1"}), "ip_any_address", []any{"body", "ip_address"}},
		{"ip with a prefix", valid(map[string]any{"ip_address": "10.0.0.0/8"}), "ip_any_address", []any{"body", "ip_address"}},
		{"unknown device_type", valid(map[string]any{"device_type": "phone"}), "enum", []any{"body", "device_type"}},
		{"device_type not a string", valid(map[string]any{"device_type": true}), "string_type", []any{"body", "device_type"}},
		{"email too long", valid(map[string]any{"user_email": strings.Repeat("e", 321)}), "string_too_long", []any{"body", "user_email"}},
		{"idle timeout zero", valid(map[string]any{"idle_timeout_seconds": 0}), "value_error", []any{"body", "idle_timeout_seconds"}},
		{"malformed json", `{"user_id": "u1",`, "json_invalid", []any{"body", 17}},
		{"json array", `[{"user_id": "u1"}]`, "model_attributes_type", []any{"body"}},
		{"json string", `"u1"`, "model_attributes_type", []any{"body"}},
		{"empty body", "", "missing", []any{"body"}},
	}
	forEachWorld(t, func(t *testing.T, e *env) {
		tok := e.token(t, serviceWrite)
		list := e.mustListIDs(t, pathAdmin)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := mustSnapshot(t, e.rdb)
				r := e.post(t, pathInternal, tok, tc.body)
				mustValidationAt(t, r, tc.typ, tc.loc...)
				mustUnchanged(t, e.rdb, before)
				if diff := cmp.Diff(list, e.mustListIDs(t, pathAdmin)); diff != "" {
					t.Errorf("list changed (-before +after):\n%s", diff)
				}
			})
		}

		t.Run("every problem at once", func(t *testing.T) {
			r := e.post(t, pathInternal, tok, map[string]any{"ip_address": "x", "device_type": "phone"})
			var locs [][]any
			for _, d := range mustValidation(t, r) {
				locs = append(locs, d.Loc)
			}
			want := [][]any{{"body", "user_id"}, {"body", "tenant_id"}, {"body", "ip_address"}, {"body", "device_type"}, {"body", "expires_at"}}
			if diff := cmp.Diff(want, locs); diff != "" {
				t.Errorf("locs (-want +got):\n%s", diff)
			}
		})
	})
}

// TestBodyTooLarge checks the 1 MiB bound on every endpoint that reads a
// body, with and without a Content-Length.
func TestBodyTooLarge(t *testing.T) {
	big := `{"user_id":"u1","tenant_id":"T1","ttl_seconds":60,"user_agent":"` + strings.Repeat("a", 1<<20) + `"}`
	paths := []struct {
		name, path string
		caller     string
	}{
		{"create", pathInternal, "service"},
		{"activity", pathInternal + "/t1-u2/activity", "service"},
		{"admin revoke-all", pathAdmin + "/revoke-all", "super"},
		{"tenant user revoke", pathTenant("T1") + "/users/u1/revoke", "super"},
	}
	forEachWorld(t, func(t *testing.T, e *env) {
		for _, p := range paths {
			tok := e.token(t, superAdmin)
			if p.caller == "service" {
				tok = e.token(t, serviceWrite)
			}
			for _, chunked := range []bool{false, true} {
				name := p.name
				if chunked {
					name += " chunked"
				}
				t.Run(name, func(t *testing.T) {
					before := mustSnapshot(t, e.rdb)
					var body any = big
					if chunked {
						body = struct{ *strings.Reader }{strings.NewReader(big)}
					}
					r := e.do(t, req{Method: "POST", Path: p.path, Token: tok, Body: body})
					mustDetail(t, r, http.StatusRequestEntityTooLarge)
					mustUnchanged(t, e.rdb, before)
				})
			}
		}
		t.Run("exactly 1 MiB is accepted", func(t *testing.T) {
			small := `{"user_id":"u1","tenant_id":"T1","ttl_seconds":60}`
			r := e.post(t, pathInternal, e.token(t, serviceWrite), small+strings.Repeat(" ", 1<<20-len(small)))
			mustStatus(t, r, http.StatusCreated)
		})
	})
}

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
	forEachWorld(t, func(t *testing.T, e *env) {
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
	forEachWorld(t, func(t *testing.T, e *env) {
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

// oddValues are JSON values of every kind and edge, each put in place of one
// field of an otherwise valid body.
var oddValues = []string{
	`null`, `""`, `" "`, `0`, `-1`, `1.5`, `1e400`, `-9223372036854775809`, `true`, `[]`, `{}`,
	`["x"]`, `"\u0000"`, `"` + strings.Repeat("x", 2000) + `"`, `"2026-01-02T03:04:05Z"`, `"}{"`,
}

// TestNoServerErrorOnOddInput puts each odd value into each field of each
// body, and odd values into paths and queries: every answer is 2xx or 4xx,
// never 5xx.
func TestNoServerErrorOnOddInput(t *testing.T) {
	bodies := []struct {
		name, method, path, caller string
		base                       map[string]string
	}{
		{"create", "POST", pathInternal, "service", map[string]string{
			"id": `"odd-1"`, "user_id": `"u1"`, "tenant_id": `"T1"`, "partner_id": `"P1"`, "user_email": `"a@b.c"`,
			"user_display_name": `"A"`, "ip_address": `"10.0.0.1"`, "user_agent": `"curl/8"`, "device_type": `"bot"`,
			"location": `"X"`, "ttl_seconds": `60`, "expires_at": `null`, "idle_timeout_seconds": `30`,
		}},
		{"activity", "POST", pathInternal + "/t1-u2/activity", "service", map[string]string{
			"application_id": `"app"`, "application_name": `"App"`, "ip_address": `"10.0.0.1"`,
		}},
		{"admin revoke-all", "POST", pathAdmin + "/revoke-all", "super", map[string]string{
			"user_id": `"u9"`, "tenant_id": `"T9"`, "partner_id": `"P9"`,
		}},
		{"tenant user revoke", "POST", pathTenant("T1") + "/users/u9/revoke", "super", map[string]string{
			"session_ids": `["nope"]`, "revoke_all": `false`, "except_current": `true`,
		}},
	}
	forEachWorld(t, func(t *testing.T, e *env) {
		toks := map[string]string{"super": e.token(t, superAdmin), "service": e.token(t, serviceWrite), "user": e.token(t, userU1)}
		check := func(t *testing.T, method, path, tok string, body any) {
			t.Helper()
			r := e.do(t, req{Method: method, Path: path, Token: tok, Body: body})
			if r.Code >= 500 {
				t.Errorf("%s %s %v: got %d, want no 5xx; body: %s", method, path, body, r.Code, r.Body)
			}
		}
		for _, bd := range bodies {
			t.Run(bd.name, func(t *testing.T) {
				for field := range bd.base {
					for _, odd := range oddValues {
						fields := map[string]json.RawMessage{}
						for k, v := range bd.base {
							fields[k] = json.RawMessage(v)
						}
						fields[field] = json.RawMessage(odd)
						raw := []byte("{")
						first := true
						for k, v := range fields {
							if !first {
								raw = append(raw, ',')
							}
							first = false
							kb, _ := json.Marshal(k)
							raw = append(append(append(raw, kb...), ':'), v...)
						}
						raw = append(raw, '}')
						check(t, bd.method, bd.path, toks[bd.caller], raw)
					}
				}
				for _, odd := range oddValues {
					check(t, bd.method, bd.path, toks[bd.caller], odd)
				}
			})
		}
		t.Run("paths and queries", func(t *testing.T) {
			odd := []string{"%00", "%FF", "%C3%A9", "..", ".", "-", "_", "a%2Fb", strings.Repeat("t", 300), "%7B%7D", "a%7Db"}
			for _, o := range odd {
				for _, p := range []struct{ method, path, caller string }{
					{"GET", pathAdmin + "/" + o, "super"},
					{"DELETE", pathAdmin + "/" + o, "super"},
					{"GET", pathTenant(o), "super"},
					{"GET", pathTenant(o) + "/stats", "super"},
					{"GET", pathTenant("T1") + "/users/" + o, "super"},
					{"GET", pathTenant(o) + "/" + o, "super"},
					{"DELETE", pathTenant(o) + "/x", "super"},
					{"POST", pathTenant(o) + "/revoke-all", "super"},
					{"DELETE", pathMe + "/" + o, "user"},
					{"POST", pathInternal + "/" + o + "/activity", "service"},
					{"GET", pathAdmin + "?user_id=" + o + "&tenant_id=" + o + "&partner_id=" + o, "super"},
					{"GET", pathTenant("T1") + "?user_id=" + o + "&page=" + o + "&per_page=" + o + "&active_only=" + o, "super"},
				} {
					check(t, p.method, p.path, toks[p.caller], nil)
				}
			}
		})
		t.Run("odd tokens claims", func(t *testing.T) {
			// Valid signatures on claims that are odd as key material.
			for _, sub := range []string{"a}b", "{x}", "u 1", strings.Repeat("u", 600), "*"} {
				o := userU1
				o.Subject, o.TenantID = sub, sub
				ut := e.token(t, o)
				check(t, "GET", pathMe, ut, nil)
				check(t, "POST", pathMe+"/revoke-all", ut, nil)
				check(t, "DELETE", pathMe+"/t1-u1-a", ut, nil)
				ta := tenantAdmin
				ta.TenantID = sub
				check(t, "GET", pathAdmin, e.token(t, ta), nil)
				check(t, "POST", pathAdmin+"/revoke-all", e.token(t, ta), map[string]any{"user_id": "u1"})
			}
		})
		if got := e.mustListIDs(t, pathTenant("T3")); len(got) != 1 || got[0] != "t3-u4" {
			t.Errorf("T3 sessions after odd input: got %v, want [t3-u4]", got)
		}
	})
}

// rawToken signs arbitrary claims (types a MintOptions cannot express) with
// the test secret; exp is added when missing.
func rawToken(tb testing.TB, claims jwt.MapClaims) string {
	tb.Helper()
	if _, ok := claims["exp"]; !ok {
		claims["exp"] = time.Now().Add(time.Hour).Unix()
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(testSecret)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// TestIdentityClaimsFailClosed: a tenant_id, partner_id or sid claim that is
// present but no valid id, and a missing or empty sub, make the token
// invalid on every route, verify included; a session of another tenant is
// never reached through a tenant-less lookup.
func TestIdentityClaimsFailClosed(t *testing.T) {
	e := newEnv(t, backends[0])
	e.seedWorld(t) // t2-u3 is u3's session in tenant T2
	bad := []struct {
		name   string
		claims jwt.MapClaims
	}{
		{"tenant_id with a trailing space", jwt.MapClaims{"sub": "u3", "sid": "t2-u3", "tenant_id": "T1 "}},
		{"empty tenant_id", jwt.MapClaims{"sub": "u3", "sid": "t2-u3", "tenant_id": ""}},
		{"tenant_id list", jwt.MapClaims{"sub": "u3", "sid": "t2-u3", "tenant_id": []string{"T1"}}},
		{"tenant_id number", jwt.MapClaims{"sub": "u3", "sid": "t2-u3", "tenant_id": 1}},
		{"tenant_id null", jwt.MapClaims{"sub": "u3", "sid": "t2-u3", "tenant_id": nil}},
		{"tenant_id of dots", jwt.MapClaims{"sub": "u3", "sid": "t2-u3", "tenant_id": ".."}},
		{"empty partner_id", jwt.MapClaims{"sub": "u3", "sid": "t2-u3", "partner_id": ""}},
		{"partner_id list", jwt.MapClaims{"sub": "padmin", "role": "partner_admin", "partner_id": []any{"P1"}}},
		{"empty sid", jwt.MapClaims{"sub": "u3", "sid": "", "tenant_id": "T2"}},
		{"sid number", jwt.MapClaims{"sub": "u3", "sid": 7, "tenant_id": "T2"}},
		{"no sub, super admin", jwt.MapClaims{"role": "super_admin"}},
		{"empty sub, super admin", jwt.MapClaims{"sub": "", "role": "super_admin"}},
		{"no sub, platform", jwt.MapClaims{"platform_token": true, "scope": "admin:write"}},
		{"no sub, service", jwt.MapClaims{"token_type": "client_credentials", "scope": "sessions:write sessions:read"}},
		{"no sub, user", jwt.MapClaims{"sid": "t2-u3", "tenant_id": "T2"}},
	}
	routes := []struct{ method, path string }{
		{"GET", "/api/v1/auth/verify"},
		{"GET", pathAdmin},
		{"DELETE", pathAdmin + "/t2-u3"},
		{"GET", pathTenant("T2")},
		{"POST", pathTenant("T2") + "/revoke-all"},
		{"GET", pathMe},
		{"POST", pathMe + "/revoke-all"},
		{"POST", pathInternal},
	}
	for _, tc := range bad {
		tok := rawToken(t, tc.claims)
		for _, rt := range routes {
			t.Run(tc.name+" "+rt.method+" "+rt.path, func(t *testing.T) {
				r := e.do(t, req{Method: rt.method, Path: rt.path, Token: tok})
				mustStatus(t, r, http.StatusUnauthorized)
				if h := r.Header.Get("WWW-Authenticate"); !strings.Contains(h, `error="invalid_token"`) {
					t.Errorf("WWW-Authenticate: got %q, want invalid_token", h)
				}
			})
		}
	}
	// Nothing was revoked by any of them.
	if got := e.mustListIDs(t, pathAdmin); len(got) != len(world) {
		t.Errorf("sessions after the refused calls: %v, want all %d", got, len(world))
	}
	good := rawToken(t, jwt.MapClaims{"sub": "u3", "sid": "t2-u3", "tenant_id": "T2"})
	mustStatus(t, e.get(t, "/api/v1/auth/verify", good), http.StatusOK)
}

// TestDotIDs: ids made only of dots are refused: 422 in a body or a query,
// 404 as a path segment (a normalising proxy would have rewritten it).
func TestDotIDs(t *testing.T) {
	e := newEnv(t, backends[0])
	e.seedWorld(t)
	svc, admin := e.token(t, serviceWrite), e.token(t, superAdmin)
	for _, tc := range []struct {
		name string
		body map[string]any
		loc  string
	}{
		{"tenant ..", map[string]any{"tenant_id": "..", "user_id": "u1", "ttl_seconds": 60}, "tenant_id"},
		{"tenant .", map[string]any{"tenant_id": ".", "user_id": "u1", "ttl_seconds": 60}, "tenant_id"},
		{"user ..", map[string]any{"tenant_id": "T1", "user_id": "..", "ttl_seconds": 60}, "user_id"},
		{"partner ...", map[string]any{"tenant_id": "T1", "user_id": "u1", "partner_id": "...", "ttl_seconds": 60}, "partner_id"},
	} {
		t.Run("create "+tc.name, func(t *testing.T) {
			mustValidationAt(t, e.post(t, pathInternal, svc, tc.body), "string_pattern_mismatch", "body", tc.loc)
		})
	}
	for _, path := range []string{
		"/api/v1/tenants/../sessions",
		"/api/v1/tenants/./sessions",
		"/api/v1/tenants/%2E%2E/sessions",
		"/api/v1/tenants/T1/sessions/users/..",
		"/api/v1/admin/sessions/..",
		"/api/v1/tenants/T1/sessions/..",
	} {
		t.Run("path "+path, func(t *testing.T) {
			mustDetail(t, e.get(t, path, admin), http.StatusNotFound)
		})
	}
	t.Run("path of a POST route", func(t *testing.T) {
		mustDetail(t, e.post(t, "/api/v1/tenants/T1/sessions/users/../revoke", admin, map[string]any{"revoke_all": true}), http.StatusNotFound)
	})
	t.Run("query user_id=..", func(t *testing.T) {
		mustValidationAt(t, e.get(t, pathAdmin+"?user_id=..", admin), "string_pattern_mismatch", "query", "user_id")
	})
	t.Run("revoke-all body", func(t *testing.T) {
		mustValidationAt(t, e.post(t, pathAdmin+"/revoke-all", admin, map[string]any{"tenant_id": ".."}), "string_pattern_mismatch", "body", "tenant_id")
	})
}

// TestDuplicateKeys: a JSON body that repeats a key, at any depth, is 422
// at the repeated key: the service never keeps one of two values a proxy
// or an audit log may read differently.
func TestDuplicateKeys(t *testing.T) {
	e := newEnv(t, backends[0])
	e.seedWorld(t)
	svc, admin := e.token(t, serviceWrite), e.token(t, superAdmin)
	cases := []struct {
		name, path, token, body string
		loc                     []any
	}{
		{"create tenant_id twice", pathInternal, svc, `{"tenant_id":"T1","tenant_id":"T2","user_id":"u1","ttl_seconds":60}`, []any{"body", "tenant_id"}},
		{"create unknown key twice", pathInternal, svc, `{"tenant_id":"T1","user_id":"u1","ttl_seconds":60,"x":1,"x":2}`, []any{"body", "x"}},
		{"create nested", pathInternal, svc, `{"tenant_id":"T1","user_id":"u1","ttl_seconds":60,"meta":{"a":[{"k":1,"k":2}]}}`, []any{"body", "meta", "a", 0, "k"}},
		{"activity", pathInternal + "/t1-u2/activity", svc, `{"application_id":"a","application_id":"b"}`, []any{"body", "application_id"}},
		{"admin revoke-all", pathAdmin + "/revoke-all", admin, `{"tenant_id":"T3","tenant_id":"T1"}`, []any{"body", "tenant_id"}},
		{"user revoke", pathTenant("T1") + "/users/u1/revoke", admin, `{"revoke_all":false,"revoke_all":true}`, []any{"body", "revoke_all"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(t, tc.path, tc.token, tc.body)
			mustValidationAt(t, r, "value_error", tc.loc...)
		})
	}
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	t.Run("too deep", func(t *testing.T) {
		r := e.post(t, pathInternal, svc, `{"tenant_id":"T1","user_id":"u1","ttl_seconds":60,"x":`+deep+`}`)
		mustStatus(t, r, http.StatusUnprocessableEntity)
	})
	if got := e.mustListIDs(t, pathAdmin); len(got) != len(world) {
		t.Errorf("sessions after the refused calls: %d, want %d", len(got), len(world))
	}
	// Distinct keys in distinct objects are no duplicates.
	mustStatus(t, e.post(t, pathInternal, svc, `{"tenant_id":"T1","user_id":"u1","ttl_seconds":60,"m":{"tenant_id":1}}`), http.StatusCreated)
}

// TestBrokenFraming: a body whose HTTP framing is broken is the client's
// fault on every route that reads one: 400 with the usual error body, and
// nothing logged at error level.
func TestBrokenFraming(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	e := newEnvWith(t, backends[0].client(t), envConfig{log: zap.New(core)})
	e.seedWorld(t)
	srv := httptest.NewServer(e.router)
	t.Cleanup(srv.Close)
	svc, admin := e.token(t, serviceWrite), e.token(t, superAdmin)
	routes := []struct{ path, token string }{
		{pathInternal, svc},
		{pathInternal + "/t1-u2/activity", svc},
		{pathAdmin + "/revoke-all", admin},
		{pathTenant("T1") + "/users/u1/revoke", admin},
	}
	framings := []struct{ name, head, body string }{
		{"bad chunk size", "Transfer-Encoding: chunked\r\n", "zz\r\n{}\r\n0\r\n\r\n"},
		{"chunk cut short", "Transfer-Encoding: chunked\r\n", "10\r\n{\"a\":1}"},
		{"shorter than Content-Length", "Content-Length: 100\r\n", `{"tenant_id":"T1"}`},
	}
	for _, rt := range routes {
		for _, f := range framings {
			t.Run(f.name+" "+rt.path, func(t *testing.T) {
				status, body := rawRequest(t, srv.Listener.Addr().String(), "POST "+rt.path+" HTTP/1.1\r\nHost: x\r\n"+
					"Authorization: Bearer "+rt.token+"\r\nContent-Type: application/json\r\nConnection: close\r\n"+f.head+"\r\n"+f.body)
				if status != http.StatusBadRequest || !strings.Contains(body, `"detail"`) {
					t.Errorf("got %d %q, want 400 with a detail", status, body)
				}
			})
		}
	}
	if n := logs.FilterLevelExact(zap.ErrorLevel).Len(); n != 0 {
		t.Errorf("error-level log lines for broken framing: %d, want 0: %v", n, logs.FilterLevelExact(zap.ErrorLevel).All()[0].Message)
	}
}

// rawRequest writes raw on a new connection to addr (half-closing it, so that
// a short body ends) and returns the status and body of the answer.
func rawRequest(tb testing.TB, addr, raw string) (int, string) {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(raw)); err != nil {
		tb.Fatal(err)
	}
	_ = conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		tb.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.StatusCode, b.String()
}
