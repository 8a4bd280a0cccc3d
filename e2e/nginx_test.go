package e2e

import (
	"net/http"
	"testing"
)

// TestNginxCheckLocationInternal checks what only nginx has: the location
// that asks sessiond cannot be requested from outside. Everything else
// nginx does is checked by TestGatewayForwardAuth, with Caddy's.
func TestNginxCheckLocationInternal(t *testing.T) {
	t.Parallel()
	sd := startSessiond(t, sharedRedis.NewClient(t))
	g := newGateway(t, sd)
	alice := sd.createSession(t, "alice", "tenant-a", "partner-1")
	g.mustPass(t, userToken(t, alice), alice)

	before := g.app.hits.Load()
	r := g.get(t, "/_sessiond_verify", userToken(t, alice))
	if r.status != http.StatusNotFound {
		t.Errorf("GET /_sessiond_verify from outside: %d %s, want 404", r.status, r.body)
	}
	if n := g.app.hits.Load() - before; n != 0 {
		t.Errorf("the application saw %d requests, want none", n)
	}
}
