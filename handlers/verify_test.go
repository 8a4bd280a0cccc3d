package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/auth"
)

const pathVerify = "/api/v1/auth/verify"

func TestVerify(t *testing.T) {
	forEachWorld(t, func(t *testing.T, e *env) {
		live := auth.MintOptions{Subject: "u1", TenantID: "T1", SessionID: "t1-u1-a"}
		noTenant := auth.MintOptions{Subject: "u1", SessionID: "t1-u1-a"}
		forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "u1", "tenant_id": "T1", "sid": "t1-u1-a", "exp": time.Now().Add(time.Hour).Unix(),
		}).SignedString([]byte("another-secret-another-secret-0123"))
		expired := live
		expired.TTL = -time.Minute
		cases := []struct {
			name   string
			method string
			path   string
			token  string
			status int
			reason string
		}{
			{"live session", http.MethodGet, pathVerify, e.token(t, live), http.StatusOK, ""},
			{"token without tenant uses the id pointer", http.MethodGet, pathVerify, e.token(t, noTenant), http.StatusOK, ""},
			{"any method (nginx, Traefik)", http.MethodPost, pathVerify, e.token(t, live), http.StatusOK, ""},
			{"HEAD", http.MethodHead, pathVerify, e.token(t, live), http.StatusOK, ""},
			{"Envoy appends the original path", http.MethodGet, pathVerify + "/app/orders?x=1", e.token(t, live), http.StatusOK, ""},
			{"no token", http.MethodGet, pathVerify, "", http.StatusUnauthorized, ""},
			{"token without sid", http.MethodGet, pathVerify, e.token(t, auth.MintOptions{Subject: "u1", TenantID: "T1"}), http.StatusUnauthorized, "token has no valid sid"},
			{"malformed sid", http.MethodGet, pathVerify, e.token(t, auth.MintOptions{Subject: "u1", TenantID: "T1", SessionID: "a b"}), http.StatusUnauthorized, "invalid tenant_id, partner_id or sid"},
			{"sub is not the session's user", http.MethodGet, pathVerify, e.token(t, auth.MintOptions{Subject: "u2", TenantID: "T1", SessionID: "t1-u1-a"}), http.StatusUnauthorized, "session belongs to another user"},
			{"token names another tenant", http.MethodGet, pathVerify, e.token(t, auth.MintOptions{Subject: "u1", TenantID: "T2", SessionID: "t1-u1-a"}), http.StatusUnauthorized, "session revoked or expired"},
			{"unknown session", http.MethodGet, pathVerify, e.token(t, auth.MintOptions{Subject: "u1", TenantID: "T1", SessionID: "nope"}), http.StatusUnauthorized, "session revoked or expired"},
			{"wrongly signed", http.MethodGet, pathVerify, forged, http.StatusUnauthorized, "signature invalid"},
			{"expired token", http.MethodGet, pathVerify, e.token(t, expired), http.StatusUnauthorized, "token expired"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do(t, req{Method: tc.method, Path: tc.path, Token: tc.token})
				if r.Code != tc.status {
					t.Fatalf("status: got %d, want %d (%s)", r.Code, tc.status, r.Body)
				}
				if tc.status == http.StatusOK {
					want := map[string]string{"X-Session-Id": "t1-u1-a", "X-User-Id": "u1", "X-Tenant-Id": "T1", "X-Partner-Id": "P1"}
					for k, v := range want {
						if got := r.Header.Get(k); got != v {
							t.Errorf("%s: got %q, want %q", k, got, v)
						}
					}
					return
				}
				wa := r.Header.Get("WWW-Authenticate")
				if tc.reason == "" && wa != "Bearer" {
					t.Errorf("WWW-Authenticate without credentials: got %q, want a plain Bearer challenge", wa)
				}
				if tc.reason != "" && (!strings.HasPrefix(wa, "Bearer ") || !strings.Contains(wa, tc.reason)) {
					t.Errorf("WWW-Authenticate: got %q, want Bearer with %q", wa, tc.reason)
				}
				for _, h := range []string{"X-Session-Id", "X-User-Id", "X-Tenant-Id"} {
					if got := r.Header.Get(h); got != "" {
						t.Errorf("refused verify leaked %s=%q", h, got)
					}
				}
			})
		}
		// Revocation is seen by the very next verify.
		mustStatus(t, e.del(t, pathAdmin+"/t1-u1-a", e.token(t, superAdmin)), http.StatusNoContent)
		r := e.do(t, req{Method: http.MethodGet, Path: pathVerify, Token: e.token(t, live)})
		mustStatus(t, r, http.StatusUnauthorized)
	})
}

// TestVerifyFailsClosed: with Redis unreachable, verify answers 503, never 200.
func TestVerifyFailsClosed(t *testing.T) {
	e := newEnvWith(t, mustFastFailClient(t, mustClosedAddr(t)), envConfig{})
	r := e.do(t, req{Method: http.MethodGet, Path: pathVerify, Token: e.token(t, userU1)})
	mustStatus(t, r, http.StatusServiceUnavailable)
	if r.Header.Get("X-User-Id") != "" {
		t.Errorf("a failed verify carried X-User-Id")
	}
}

// TestVerifyRecordsActivityThrottled: verify writes last_activity_at at most
// once per interval per session.
func TestVerifyRecordsActivityThrottled(t *testing.T) {
	e := newEnvWith(t, realRedis.NewClient(t), envConfig{activity: time.Minute})
	e.seedWorld(t)
	tok := e.token(t, userU1)
	start := e.now
	lastActivity := func() string {
		r := e.get(t, pathAdmin+"/t1-u1-a", e.token(t, superAdmin))
		mustStatus(t, r, http.StatusOK)
		v, _ := mustDecode[envelope[map[string]any]](t, r).Data["last_activity_at"].(string)
		return v
	}
	steps := []struct {
		at   time.Duration
		want time.Duration // expected last_activity_at offset; -1 = none
	}{
		{30 * time.Second, -1},               // within the interval of creation
		{61 * time.Second, 61 * time.Second}, // first write
		{90 * time.Second, 61 * time.Second}, // throttled
		{100 * time.Second, 61 * time.Second},
		{122 * time.Second, 122 * time.Second}, // next interval
	}
	for _, st := range steps {
		e.now = start.Add(st.at)
		mustStatus(t, e.do(t, req{Method: http.MethodGet, Path: pathVerify, Token: tok}), http.StatusOK)
		want := ""
		if st.want >= 0 {
			want = wt(start.Add(st.want))
		}
		deadline := time.Now().Add(3 * time.Second)
		got := lastActivity()
		for got != want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			got = lastActivity()
		}
		if got != want {
			t.Fatalf("after verify at +%v: last_activity_at %q, want %q", st.at, got, want)
		}
	}
}

// TestVerifyCacheAcrossInstances: two instances on one Redis, each with its
// verify cache and its revocation tail. A session revoked through A is
// refused by B because B's tail hears the event (the cache's max age is an
// hour here, so nothing else could), and by A on the very next request.
func TestVerifyCacheAcrossInstances(t *testing.T) {
	rdb := realRedis.NewClient(t)
	a := newEnvWith(t, rdb, envConfig{events: true, cacheMaxAge: time.Hour})
	b := newEnvWith(t, rdb, envConfig{events: true, cacheMaxAge: time.Hour})
	for _, id := range []string{"vc-1", "vc-2"} {
		a.mustCreate(t, sess{"id": id, "user_id": "u1", "tenant_id": "T1"})
	}
	tok1 := a.token(t, auth.MintOptions{Subject: "u1", TenantID: "T1", SessionID: "vc-1"})
	tok2 := a.token(t, auth.MintOptions{Subject: "u1", TenantID: "T1", SessionID: "vc-2"})
	// Each instance's tail goes live, then its verify answers from the cache.
	for _, e := range []*env{a, b} {
		testserver.WaitFor(t, "the verify cache to fill", func() bool {
			mustStatus(t, e.get(t, "/api/v1/auth/verify", tok1), http.StatusOK)
			mustStatus(t, e.get(t, "/api/v1/auth/verify", tok2), http.StatusOK)
			return e.cache.Len() == 2
		})
	}
	// Revoked through A: A refuses at once; B once its tail hears it.
	mustStatus(t, a.del(t, pathTenant("T1")+"/vc-1", a.token(t, superAdmin)), http.StatusNoContent)
	mustStatus(t, a.get(t, "/api/v1/auth/verify", tok1), http.StatusUnauthorized)
	testserver.WaitFor(t, "B to refuse the session A revoked", func() bool {
		return b.get(t, "/api/v1/auth/verify", tok1).Code == http.StatusUnauthorized
	})
	mustStatus(t, b.get(t, "/api/v1/auth/verify", tok2), http.StatusOK)
	// Revoked through B: B refuses at once, with no event needed.
	mustStatus(t, b.del(t, pathTenant("T1")+"/vc-2", b.token(t, superAdmin)), http.StatusNoContent)
	mustStatus(t, b.get(t, "/api/v1/auth/verify", tok2), http.StatusUnauthorized)
}

// TestVerifyCacheBypassedWithoutTail: with no revocation tail (the cache is
// never live) verify reads Redis every time, so a revocation the instance
// never heard of (made by another, here directly in the store) is refused
// at once.
func TestVerifyCacheBypassedWithoutTail(t *testing.T) {
	rdb := realRedis.NewClient(t)
	e := newEnvWith(t, rdb, envConfig{cacheMaxAge: time.Hour})
	e.mustCreate(t, sess{"id": "vb-1", "user_id": "u1", "tenant_id": "T1"})
	tok := e.token(t, auth.MintOptions{Subject: "u1", TenantID: "T1", SessionID: "vb-1"})
	mustStatus(t, e.get(t, "/api/v1/auth/verify", tok), http.StatusOK)
	if e.cache.Len() != 0 {
		t.Fatalf("the cache holds %d entries while its tail is not running", e.cache.Len())
	}
	other := newEnvWith(t, rdb, envConfig{})
	mustStatus(t, other.del(t, pathTenant("T1")+"/vb-1", other.token(t, superAdmin)), http.StatusNoContent)
	mustStatus(t, e.get(t, "/api/v1/auth/verify", tok), http.StatusUnauthorized)
}
