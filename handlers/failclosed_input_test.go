package handlers_test

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

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
