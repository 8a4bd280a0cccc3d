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

	"github.com/sessiond/sessiond/pkg/auth"
)

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
