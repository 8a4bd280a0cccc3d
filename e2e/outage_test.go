package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// recoveryTimeout bounds how long sessiond may take to find Redis back.
const recoveryTimeout = 10 * time.Second

// TestNginxFailsClosedWhileRedisDown stops Redis under a running nginx +
// sessiond: nginx must refuse every request (5xx, never 200, the application
// sees nothing), then let the same tokens through again once Redis is back,
// with neither nginx nor sessiond restarted.
func TestNginxFailsClosedWhileRedisDown(t *testing.T) {
	t.Parallel()
	rp := startRedisProc(t)
	sd := startSessiond(t, connect(t, rp.Addr()))
	g := newGateway(t, sd)

	live := sd.createSession(t, "frank", "tenant-o", "partner-o")
	revoked := sd.createSession(t, "frank", "tenant-o", "partner-o")
	liveTok, revokedTok := userToken(t, live), userToken(t, revoked)
	g.mustPass(t, liveTok, live)
	g.mustPass(t, revokedTok, revoked)
	if r := sd.call(t, http.MethodDelete, "/api/v1/admin/sessions/"+revoked.ID, mint(t, superAdmin), nil); r.status != http.StatusNoContent {
		t.Fatalf("admin DELETE: %d %s, want 204", r.status, r.body)
	}
	g.mustRefuse(t, revokedTok, "session revoked or expired")

	rp.Down()
	before := g.app.hits.Load()
	for _, tok := range []string{liveTok, revokedTok, liveTok} {
		r := g.get(t, "/orders/42", tok)
		if r.status < 500 {
			t.Fatalf("GET through nginx with Redis down: %d %s, want 5xx", r.status, r.body)
		}
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Errorf("GET through nginx with Redis down: %d, Retry-After %q; want 503 with Retry-After (@sessiond_unavailable)",
				r.status, r.header.Get("Retry-After"))
		}
	}
	if n := g.app.hits.Load() - before; n != 0 {
		t.Errorf("the application saw %d requests while Redis was down, want none", n)
	}
	// What nginx got from sessiond.
	mustVerifyStatus(t, sd, liveTok, http.StatusServiceUnavailable)

	rp.Up()
	waitVerifyOK(t, sd, liveTok)
	g.mustPass(t, liveTok, live)
	g.mustRefuse(t, revokedTok, "session revoked or expired")
}

// TestVerifyWhileRedisDown checks sessiond alone: /api/v1/auth/verify
// answers 503 while Redis is unreachable and 200 again once it is back,
// without sessiond being restarted (go-redis reconnects by itself).
func TestVerifyWhileRedisDown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		down, up  func(*redisProc)
		maxAnswer time.Duration
	}{
		// Connections refused: the answer is immediate.
		{"stopped and restarted", (*redisProc).Down, (*redisProc).Up, 3 * time.Second},
		// Connections hang: the answer waits for the Redis timeout (500ms
		// here) and go-redis' retries, never for ever.
		{"frozen and resumed", (*redisProc).Freeze, (*redisProc).Thaw, 8 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rp := startRedisProc(t)
			sd := startSessiond(t, connect(t, rp.Addr()))
			s := sd.createSession(t, "grace", "tenant-v", "")
			tok := userToken(t, s)
			mustVerifyOK(t, sd, tok, s)

			tc.down(rp)
			start := time.Now()
			r := mustVerifyStatus(t, sd, tok, http.StatusServiceUnavailable)
			if took := time.Since(start); took > tc.maxAnswer {
				t.Errorf("verify took %s with Redis down, want at most %s", took, tc.maxAnswer)
			}
			var body struct{ Detail string }
			if err := json.Unmarshal(r.body, &body); err != nil || body.Detail == "" {
				t.Errorf("503 body %q, want {\"detail\": …} (%v)", r.body, err)
			}
			if got := sd.call(t, http.MethodGet, "/readyz", "", nil); got.status != http.StatusServiceUnavailable {
				t.Errorf("/readyz with Redis down: %d, want 503", got.status)
			}
			// A second request fails the same way: no state is stuck.
			mustVerifyStatus(t, sd, tok, http.StatusServiceUnavailable)

			tc.up(rp)
			waitVerifyOK(t, sd, tok)
			mustVerifyOK(t, sd, tok, s)
			if got := sd.call(t, http.MethodGet, "/readyz", "", nil); got.status != http.StatusOK {
				t.Errorf("/readyz with Redis back: %d, want 200", got.status)
			}
		})
	}
}

// mustVerifyStatus asks sessiond's /api/v1/auth/verify directly.
func mustVerifyStatus(t *testing.T, sd *sessiond, token string, want int) response {
	t.Helper()
	r := sd.call(t, http.MethodGet, "/api/v1/auth/verify", token, nil)
	if r.status != want {
		t.Fatalf("GET /api/v1/auth/verify: %d %s, want %d", r.status, r.body, want)
	}
	return r
}

func mustVerifyOK(t *testing.T, sd *sessiond, token string, s session) {
	t.Helper()
	r := mustVerifyStatus(t, sd, token, http.StatusOK)
	for h, want := range map[string]string{"X-Session-Id": s.ID, "X-User-Id": s.UserID, "X-Tenant-Id": s.TenantID} {
		if got := r.header.Get(h); got != want {
			t.Errorf("verify %s = %q, want %q", h, got, want)
		}
	}
}

// waitVerifyOK polls verify until it answers 200; until then only 503 is
// acceptable (never another status, never a 200 for the wrong reason).
func waitVerifyOK(t *testing.T, sd *sessiond, token string) {
	t.Helper()
	deadline := time.Now().Add(recoveryTimeout)
	attempts := 0
	for {
		attempts++
		r := sd.call(t, http.MethodGet, "/api/v1/auth/verify", token, nil)
		switch {
		case r.status == http.StatusOK:
			if attempts > 1 {
				t.Logf("verify recovered after %d attempts", attempts)
			}
			return
		case r.status != http.StatusServiceUnavailable:
			t.Fatalf("verify while Redis comes back: %d %s, want 503 or 200", r.status, r.body)
		case time.Now().After(deadline):
			t.Fatalf("verify still answers 503 %s after Redis came back", recoveryTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
