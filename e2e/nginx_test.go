package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/pkg/auth"
)

// gateway is nginx running the shipped snippet, sessiond and the protected
// application, wired together.
type gateway struct {
	*nginx
	sessiond *sessiond
	app      *app
}

func newGateway(t *testing.T, sd *sessiond) *gateway {
	t.Helper()
	a := startApp(t)
	return &gateway{nginx: startNginx(t, sd.Addr, a.Addr), sessiond: sd, app: a}
}

// mustPass checks that a request with token reaches the application as the
// session's user.
func (g *gateway) mustPass(t *testing.T, token string, want session) seen {
	t.Helper()
	before := g.app.hits.Load()
	r := g.get(t, "/orders/42", token)
	if r.status != http.StatusOK {
		t.Fatalf("GET through nginx: %d %s (WWW-Authenticate %q), want 200", r.status, r.body, r.header.Get("WWW-Authenticate"))
	}
	if g.app.hits.Load() != before+1 {
		t.Fatalf("the application saw %d requests, want 1", g.app.hits.Load()-before)
	}
	var s seen
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatalf("decode the application's answer %s: %v", r.body, err)
	}
	if s.Path != "/orders/42" || s.SessionID != want.ID || s.UserID != want.UserID || s.TenantID != want.TenantID || s.PartnerID != want.PartnerID {
		t.Errorf("the application saw %+v, want path /orders/42, X-Session-Id %q, X-User-Id %q, X-Tenant-Id %q, X-Partner-Id %q",
			s, want.ID, want.UserID, want.TenantID, want.PartnerID)
	}
	if want.PartnerID == "" && s.HasPartner {
		t.Errorf("the application got an X-Partner-Id header for a session without partner")
	}
	return s
}

// mustRefuse checks that nginx answers 401 with sessiond's reason and that
// the application never saw the request.
func (g *gateway) mustRefuse(t *testing.T, token, reason string) {
	t.Helper()
	before := g.app.hits.Load()
	r := g.get(t, "/orders/42", token)
	g.checkRefused(t, r, reason)
	if n := g.app.hits.Load() - before; n != 0 {
		t.Errorf("the application saw %d requests, want none", n)
	}
}

func (g *gateway) checkRefused(t *testing.T, r response, reason string) {
	t.Helper()
	if r.status != http.StatusUnauthorized {
		t.Fatalf("GET through nginx: %d %s, want 401", r.status, r.body)
	}
	want := `Bearer error="invalid_token", error_description="` + reason + `"`
	if reason == "missing bearer token" {
		want = "Bearer" // RFC 6750 §3.1: no error code without credentials
	}
	if got := r.header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != want {
		t.Errorf("WWW-Authenticate = %q, want exactly [%q]", got, want)
	}
	var body struct{ Detail string }
	if err := json.Unmarshal(r.body, &body); err != nil || body.Detail == "" {
		t.Errorf("401 body %q: want {\"detail\": …} (%v)", r.body, err)
	}
}

func TestNginxForwardAuth(t *testing.T) {
	t.Parallel()
	sd := startSessiond(t, sharedRedis.NewClient(t))
	g := newGateway(t, sd)

	alice := sd.createSession(t, "alice", "tenant-a", "partner-1")
	bob := sd.createSession(t, "bob", "tenant-c", "")
	// A session that expires during the test: checked last.
	brief := sd.createSessionTTL(t, "brief", "tenant-a", "partner-1", 1)
	briefEnds := time.Now().Add(time.Second)
	g.mustPass(t, userToken(t, brief), brief)

	t.Run("live session passes with its identity", func(t *testing.T) {
		s := g.mustPass(t, userToken(t, alice), alice)
		if s.RequestID == "" {
			t.Errorf("the application got no X-Request-ID")
		}
		g.mustPass(t, userToken(t, bob), bob)
	})

	t.Run("forged identity headers are replaced", func(t *testing.T) {
		before := g.app.hits.Load()
		r := g.get(t, "/orders/42", userToken(t, bob),
			"X-User-Id", "alice", "X-Session-Id", alice.ID, "X-Tenant-Id", "tenant-z", "X-Partner-Id", "partner-9")
		if r.status != http.StatusOK {
			t.Fatalf("GET: %d %s, want 200", r.status, r.body)
		}
		var s seen
		if err := json.Unmarshal(r.body, &s); err != nil {
			t.Fatalf("decode %s: %v", r.body, err)
		}
		if s.UserID != bob.UserID || s.SessionID != bob.ID || s.TenantID != bob.TenantID || s.HasPartner {
			t.Errorf("the application saw %+v, want bob's identity and no X-Partner-Id", s)
		}
		if g.app.hits.Load() != before+1 {
			t.Errorf("the application saw %d requests, want 1", g.app.hits.Load()-before)
		}
	})

	t.Run("forged identity without a token is refused", func(t *testing.T) {
		before := g.app.hits.Load()
		r := g.get(t, "/orders/42", "", "X-User-Id", "alice", "X-Session-Id", alice.ID)
		g.checkRefused(t, r, "missing bearer token")
		if g.app.hits.Load() != before {
			t.Errorf("the application saw the request")
		}
	})

	t.Run("token without tenant_id passes", func(t *testing.T) {
		// sessiond then finds the session's tenant from its id.
		g.mustPass(t, mint(t, auth.MintOptions{Subject: alice.UserID, SessionID: alice.ID}), alice)
	})

	t.Run("token naming another tenant", func(t *testing.T) {
		tok := mint(t, auth.MintOptions{Subject: alice.UserID, TenantID: "tenant-c", SessionID: alice.ID})
		g.mustRefuse(t, tok, "session revoked or expired")
	})

	t.Run("no token", func(t *testing.T) {
		g.mustRefuse(t, "", "missing bearer token")
	})

	t.Run("token without sid", func(t *testing.T) {
		g.mustRefuse(t, mint(t, auth.MintOptions{Subject: alice.UserID, TenantID: alice.TenantID}), "token has no valid sid")
	})

	t.Run("sub is not the session's user", func(t *testing.T) {
		tok := mint(t, auth.MintOptions{Subject: "mallory", TenantID: alice.TenantID, SessionID: alice.ID})
		g.mustRefuse(t, tok, "session belongs to another user")
	})

	t.Run("wrongly signed token", func(t *testing.T) {
		tok := mintWith(t, []byte("another-secret-0123456789abcdef0123"), auth.MintOptions{
			Subject: alice.UserID, TenantID: alice.TenantID, SessionID: alice.ID,
		})
		g.mustRefuse(t, tok, "signature invalid")
	})

	t.Run("expired token", func(t *testing.T) {
		tok := mint(t, auth.MintOptions{Subject: alice.UserID, TenantID: alice.TenantID, SessionID: alice.ID, TTL: -time.Hour})
		g.mustRefuse(t, tok, "token expired")
	})

	t.Run("unknown session", func(t *testing.T) {
		tok := mint(t, auth.MintOptions{Subject: alice.UserID, TenantID: alice.TenantID, SessionID: "no-such-session"})
		g.mustRefuse(t, tok, "session revoked or expired")
	})

	t.Run("every method is checked", func(t *testing.T) {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
			req, err := http.NewRequest(m, g.URL+"/orders/42", strings.NewReader(`{"x":1}`))
			if err != nil {
				t.Fatal(err)
			}
			if r := do(t, req); r.status != http.StatusUnauthorized {
				t.Errorf("%s without a token: %d %s, want 401", m, r.status, r.body)
			}
			req, err = http.NewRequest(m, g.URL+"/orders/42", strings.NewReader(`{"x":1}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+userToken(t, alice))
			if r := do(t, req); r.status != http.StatusOK {
				t.Errorf("%s with alice's token: %d %s, want 200", m, r.status, r.body)
			}
		}
	})

	t.Run("the check location is internal", func(t *testing.T) {
		r := g.get(t, "/_sessiond_verify", userToken(t, alice))
		if r.status != http.StatusNotFound {
			t.Errorf("GET /_sessiond_verify from outside: %d, want 404", r.status)
		}
	})

	t.Run("admin delete refuses the very next request", func(t *testing.T) {
		carol := sd.createSession(t, "carol", "tenant-a", "partner-1")
		tok := userToken(t, carol)
		g.mustPass(t, tok, carol)
		r := sd.call(t, http.MethodDelete, "/api/v1/admin/sessions/"+carol.ID, mint(t, superAdmin), nil)
		if r.status != http.StatusNoContent {
			t.Fatalf("admin DELETE: %d %s, want 204", r.status, r.body)
		}
		g.mustRefuse(t, tok, "session revoked or expired")
		// Alice, in the same tenant, is untouched.
		g.mustPass(t, userToken(t, alice), alice)
	})

	t.Run("bulk revoke refuses all 50 sessions at once", func(t *testing.T) {
		const n = 50
		sessions := make([]session, n)
		tokens := make([]string, n)
		for i := range n {
			sessions[i] = sd.createSession(t, "dave", "tenant-b", "partner-1")
			tokens[i] = userToken(t, sessions[i])
		}
		other := sd.createSession(t, "erin", "tenant-b", "partner-1")
		for i := range n {
			g.mustPass(t, tokens[i], sessions[i])
		}
		r := sd.call(t, http.MethodPost, "/api/v1/tenants/tenant-b/sessions/users/dave/revoke", mint(t, superAdmin),
			map[string]any{"revoke_all": true})
		if r.status != http.StatusOK {
			t.Fatalf("bulk revoke: %d %s, want 200", r.status, r.body)
		}
		var out struct {
			Data struct {
				RevokedCount int      `json:"revoked_count"`
				SessionIDs   []string `json:"session_ids"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatalf("decode %s: %v", r.body, err)
		}
		if out.Data.RevokedCount != n || len(out.Data.SessionIDs) != n {
			t.Fatalf("bulk revoke: revoked_count %d, %d ids; want %d", out.Data.RevokedCount, len(out.Data.SessionIDs), n)
		}
		// Every token at once, concurrently: none may pass.
		before := g.app.hits.Load()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				req, err := http.NewRequest(http.MethodGet, g.URL+"/orders/42", nil)
				if err != nil {
					errs <- err
					return
				}
				req.Header.Set("Authorization", "Bearer "+tokens[i])
				res, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				res.Body.Close()
				if res.StatusCode != http.StatusUnauthorized {
					errs <- fmt.Errorf("session %d (%s): %d, want 401", i, sessions[i].ID, res.StatusCode)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if got := g.app.hits.Load() - before; got != 0 {
			t.Errorf("the application saw %d requests of revoked sessions, want none", got)
		}
		g.mustPass(t, userToken(t, other), other)
	})

	t.Run("expired session is refused", func(t *testing.T) {
		// Redis expires the session at its expires_at (PEXPIREAT).
		time.Sleep(time.Until(briefEnds) + 100*time.Millisecond)
		g.mustRefuse(t, userToken(t, brief), "session revoked or expired")
	})
}
