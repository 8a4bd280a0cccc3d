package handlers_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/metrics"
)

func TestRequestID(t *testing.T) {
	sane128 := strings.Repeat("a", 128)
	cases := []struct {
		name, sent string
		echoed     bool
	}{
		{"simple", "req-123", true},
		{"every allowed character", "AZaz09._-", true},
		{"128 characters", sane128, true},
		{"129 characters", sane128 + "a", false},
		{"space", "req 123", false},
		{"slash", "req/123", false},
		{"colon", "req:123", false},
		{"non-ascii", "réq", false},
		{"newline injection", "a\\nb", false},
		{"empty", "", false},
	}
	forEachWorld(t, func(t *testing.T, e *env) {
		paths := []struct {
			name, method, path, token string
			envelope                  bool
		}{
			{"list", "GET", pathAdmin, e.token(t, superAdmin), true},
			{"get", "GET", pathAdmin + "/t1-u2", e.token(t, superAdmin), true},
			{"stats", "GET", pathTenant("T1") + "/stats", e.token(t, superAdmin), true},
			{"me", "GET", pathMe, e.token(t, userU1), true},
			{"401", "GET", pathAdmin, "", false},
			{"404", "GET", pathAdmin + "/nope", e.token(t, superAdmin), false},
			{"healthz", "GET", "/healthz", "", false},
		}
		for _, tc := range cases {
			for _, p := range paths {
				t.Run(tc.name+"/"+p.name, func(t *testing.T) {
					h := map[string]string{}
					if tc.sent != "" {
						h["X-Request-ID"] = tc.sent
					}
					r := e.do(t, req{Method: p.method, Path: p.path, Token: p.token, Header: h})
					got := r.Header.Get("X-Request-ID")
					if tc.echoed {
						if got != tc.sent {
							t.Errorf("X-Request-ID: got %q, want %q", got, tc.sent)
						}
					} else if u, err := uuid.Parse(got); err != nil || got != u.String() {
						t.Errorf("X-Request-ID: got %q, want a new UUID instead of %q", got, tc.sent)
					}
					if p.envelope {
						mustStatus(t, r, http.StatusOK)
						env := mustDecode[envelope[any]](t, r)
						if env.Meta.RequestID != got {
							t.Errorf("meta.request_id: got %q, want the header's %q", env.Meta.RequestID, got)
						}
						mustWireTime(t, "meta.timestamp", env.Meta.Timestamp)
					}
				})
			}
		}
		t.Run("fresh id per request", func(t *testing.T) {
			a := e.get(t, "/healthz", "").Header.Get("X-Request-ID")
			b := e.get(t, "/healthz", "").Header.Get("X-Request-ID")
			if a == b {
				t.Errorf("X-Request-ID: got %q twice, want a new one per request", a)
			}
		})
	})
}

func TestHealth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		for _, path := range []string{"/healthz", "/readyz"} {
			t.Run(path, func(t *testing.T) {
				r := e.get(t, path, "")
				mustStatus(t, r, http.StatusOK)
				mustBody(t, r, `{"status":"ok"}`)
			})
		}
	})
}

// TestTrailingSlash checks that both spellings of the admin list answer 200
// with the same body, and that nothing redirects.
func TestTrailingSlash(t *testing.T) {
	forEachWorld(t, func(t *testing.T, e *env) {
		tok := e.token(t, superAdmin)
		var bodies []string
		for _, path := range []string{pathAdmin, pathAdmin + "/"} {
			r := e.do(t, req{Method: "GET", Path: path, Token: tok, Header: map[string]string{"X-Request-ID": "same"}})
			mustStatus(t, r, http.StatusOK)
			if loc := r.Header.Get("Location"); loc != "" {
				t.Errorf("%s: Location: got %q, want none", path, loc)
			}
			env := mustDecode[envelope[[]listItemJSON]](t, r)
			if len(env.Data) != len(world) {
				t.Errorf("%s: got %d sessions, want %d", path, len(env.Data), len(world))
			}
			bodies = append(bodies, strings.Join(ids(env.Data), ","))
		}
		if bodies[0] != bodies[1] {
			t.Errorf("lists differ: got %q and %q, want the same", bodies[0], bodies[1])
		}
		// Other routes keep their one spelling.
		mustDetail(t, e.get(t, pathMe+"/", e.token(t, userU1)), http.StatusNotFound)
	})
}

// TestMetricsEndpoint: /metrics counts requests by route template and
// revocations by reason, and no label carries an id or a token.
func TestMetricsEndpoint(t *testing.T) {
	m := metrics.New("test")
	e := newEnvWith(t, realRedis.NewClient(t), envConfig{metrics: m})
	e.seedWorld(t)
	admin := e.token(t, superAdmin)
	mustStatus(t, e.get(t, pathAdmin+"/t1-u1-a", admin), http.StatusOK)
	mustStatus(t, e.get(t, pathAdmin+"/nope", admin), http.StatusNotFound)
	mustStatus(t, e.del(t, pathAdmin+"/t1-u1-b", admin), http.StatusNoContent)
	mustStatus(t, e.post(t, pathTenant("T2")+"/revoke-all", admin, nil), http.StatusOK)
	mustStatus(t, e.get(t, "/no/such/route", ""), http.StatusNotFound)

	r := e.get(t, "/metrics", "")
	mustStatus(t, r, http.StatusOK)
	out := string(r.Body)
	for _, want := range []string{
		`sessiond_http_requests_total{method="GET",route="/api/v1/admin/sessions/:session_id",status="200"} 1`,
		`sessiond_http_requests_total{method="GET",route="/api/v1/admin/sessions/:session_id",status="404"} 1`,
		`sessiond_http_requests_total{method="POST",route="/api/v1/internal/sessions",status="201"} 5`,
		`sessiond_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`sessiond_revocations_total{reason="admin_revoke"} 1`,
		`sessiond_revocations_total{reason="tenant_revoke_all"} 1`,
		`sessiond_http_requests_in_flight 1`, // the /metrics request itself
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, leak := range []string{"t1-u1-a", "t1-u1-b", "nope", "u1", "T2", admin} {
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "sessiond_") && strings.Contains(line, `"`+leak+`"`) {
				t.Errorf("a label carries %q: %s", leak, line)
			}
		}
	}
}

const (
	testIssuer   = "https://idp.example.test"
	testAudience = "sessiond"
)

// unsigned is a token with alg "none" and the given claims.
func unsigned(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc([]byte(claims)) + "."
}

// TestTokenFailures checks every way a bearer token can fail: 401 with
// WWW-Authenticate: Bearer…, {"detail": …}, on every endpoint group, and
// nothing changes.
func TestTokenFailures(t *testing.T) {
	now := time.Now()
	exp := now.Add(time.Hour).Unix()
	good := auth.MintOptions{Subject: "root", Role: auth.RoleSuperAdmin, Issuer: testIssuer, Audience: testAudience}
	with := func(f func(o *auth.MintOptions)) auth.MintOptions {
		o := good
		f(&o)
		return o
	}
	mint := func(o auth.MintOptions) func(tb testing.TB) string {
		return func(tb testing.TB) string { return "Bearer " + mustToken(tb, testSecret, o) }
	}
	fixed := func(h string) func(testing.TB) string { return func(testing.TB) string { return h } }
	cases := []struct {
		name   string
		header func(tb testing.TB) string
	}{
		{"no header", fixed("")},
		{"empty bearer", fixed("Bearer ")},
		{"basic scheme", fixed("Basic dXNlcjpwYXNz")},
		{"token without scheme", func(tb testing.TB) string { return mustToken(tb, testSecret, good) }},
		{"garbage", fixed("Bearer not.a.jwt")},
		{"alg none", fixed("Bearer " + unsigned(`{"sub":"root","role":"super_admin","iss":"`+testIssuer+`","aud":"`+testAudience+`","exp":`+itoa(exp)+`}`))},
		{"expired", mint(with(func(o *auth.MintOptions) { o.TTL = -time.Hour }))},
		{"not yet valid", mint(with(func(o *auth.MintOptions) { o.NotBefore = now.Add(time.Hour); o.TTL = 2 * time.Hour }))},
		{"issued in the future", mint(with(func(o *auth.MintOptions) { o.Now = now.Add(time.Hour) }))},
		{"wrong signature", func(tb testing.TB) string {
			return "Bearer " + mustToken(tb, []byte("another-secret-0123456789abcdef!!"), good)
		}},
		{"tampered payload", func(tb testing.TB) string {
			parts := strings.Split(mustToken(tb, testSecret, with(func(o *auth.MintOptions) { o.Role = auth.RoleTenantAdmin; o.TenantID = "T1" })), ".")
			parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"root","role":"super_admin","iss":"` + testIssuer + `","aud":"` + testAudience + `","exp":` + itoa(exp) + `}`))
			return "Bearer " + strings.Join(parts, ".")
		}},
		{"wrong issuer", mint(with(func(o *auth.MintOptions) { o.Issuer = "https://evil.example.test" }))},
		{"no issuer", mint(with(func(o *auth.MintOptions) { o.Issuer = "" }))},
		{"wrong audience", mint(with(func(o *auth.MintOptions) { o.Audience = "someone-else" }))},
		{"no audience", mint(with(func(o *auth.MintOptions) { o.Audience = "" }))},
		{"no exp", func(tb testing.TB) string {
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
			p := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"root","role":"super_admin","iss":"` + testIssuer + `","aud":"` + testAudience + `"}`))
			return "Bearer " + signHS256(tb, h+"."+p)
		}},
		{"alg HS384", withAlg("HS384", exp)},
		{"alg RS256 signed with the secret", withAlg("RS256", exp)},
		{"oversized", fixed("Bearer " + strings.Repeat("a", auth.MaxTokenSize+1))},
	}
	endpoints := []struct{ method, path string }{
		{"GET", pathAdmin},
		{"GET", pathAdmin + "/t1-u2"},
		{"DELETE", pathAdmin + "/t1-u2"},
		{"POST", pathAdmin + "/revoke-all"},
		{"GET", pathTenant("T1")},
		{"GET", pathTenant("T1") + "/stats"},
		{"POST", pathTenant("T1") + "/revoke-all"},
		{"GET", pathMe},
		{"DELETE", pathMe + "/t1-u2"},
		{"POST", pathInternal},
		{"POST", pathInternal + "/t1-u2/activity"},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnvWith(t, b.client(t), envConfig{issuer: testIssuer, audience: testAudience})
		e.seedWorld(t)
		t.Run("good tokens", func(t *testing.T) {
			// The controls: what the failures below change is what fails.
			for _, h := range []string{mint(good)(t), withAlg("HS256", exp)(t), "bearer " + mustToken(t, testSecret, good)} {
				mustStatus(t, e.do(t, req{Method: "GET", Path: pathAdmin, Header: map[string]string{"Authorization": h}}), http.StatusOK)
			}
		})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				h := tc.header(t)
				for _, ep := range endpoints {
					before := mustSnapshot(t, e.rdb)
					var body any
					if ep.method == "POST" {
						body = map[string]any{"tenant_id": "T1", "user_id": "u1", "ttl_seconds": 60}
					}
					r := e.do(t, req{Method: ep.method, Path: ep.path, Body: body, Header: map[string]string{"Authorization": h}})
					if r.Code != http.StatusUnauthorized {
						t.Fatalf("%s %s: got %d, want 401; body: %s", ep.method, ep.path, r.Code, r.Body)
					}
					mustDetail(t, r, http.StatusUnauthorized)
					if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
						t.Errorf("%s %s: WWW-Authenticate: got %q, want one starting with Bearer", ep.method, ep.path, got)
					}
					if strings.Contains(string(r.Body), strings.TrimPrefix(h, "Bearer ")) && len(h) > 20 {
						t.Errorf("%s %s: the body echoes the token", ep.method, ep.path)
					}
					mustUnchanged(t, e.rdb, before)
				}
			})
		}
	})
}

// withAlg is a token whose header names alg, MACed with testSecret.
func withAlg(alg string, exp int64) func(tb testing.TB) string {
	return func(tb testing.TB) string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + alg + `","typ":"JWT"}`))
		p := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"root","role":"super_admin","iss":"` + testIssuer + `","aud":"` + testAudience + `","exp":` + itoa(exp) + `}`))
		return "Bearer " + signHS256(tb, h+"."+p)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// signHS256 appends an HS256 signature with testSecret to "header.payload".
func signHS256(tb testing.TB, signingInput string) string {
	tb.Helper()
	mac := hmac.New(sha256.New, testSecret)
	mac.Write([]byte(signingInput))
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
