package handlers_test

import (
	"net/http"
	"testing"

	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/redisstore"
)

// unavailableCases are requests that all need Redis; none may answer 500.
var unavailableCases = []struct {
	name, method, path string
	caller             auth.MintOptions
	body               any
}{
	{"admin list", "GET", pathAdmin, superAdmin, nil},
	{"admin list by user", "GET", pathAdmin + "?user_id=u1", superAdmin, nil},
	{"admin get", "GET", pathAdmin + "/t1-u2", superAdmin, nil},
	{"admin delete", "DELETE", pathAdmin + "/t1-u2", superAdmin, nil},
	{"admin revoke-all", "POST", pathAdmin + "/revoke-all", superAdmin, map[string]any{"tenant_id": "T1"}},
	{"tenant list", "GET", pathTenant("T1"), superAdmin, nil},
	{"tenant list as partner admin", "GET", pathTenant("T1"), partnerAdmin, nil},
	{"tenant stats", "GET", pathTenant("T1") + "/stats", tenantAdmin, nil},
	{"tenant get", "GET", pathTenant("T1") + "/t1-u2", superAdmin, nil},
	{"tenant delete", "DELETE", pathTenant("T1") + "/t1-u2", superAdmin, nil},
	{"tenant revoke-all", "POST", pathTenant("T1") + "/revoke-all", superAdmin, nil},
	{"tenant user revoke", "POST", pathTenant("T1") + "/users/u1/revoke", superAdmin, map[string]any{"revoke_all": true}},
	{"me list", "GET", pathMe, userU1, nil},
	{"me revoke-all", "POST", pathMe + "/revoke-all", userU1, nil},
	{"me delete", "DELETE", pathMe + "/t1-u1-b", userU1, nil},
	{"internal create", "POST", pathInternal, serviceWrite, map[string]any{"user_id": "u1", "tenant_id": "T1", "ttl_seconds": 60}},
	{"internal activity", "POST", pathInternal + "/t1-u2/activity", serviceWrite, nil},
}

// mustAllUnavailable checks that every request needing Redis answers 503
// {"detail": …} and that /readyz answers 503 while /healthz stays 200.
func mustAllUnavailable(t *testing.T, e *env) {
	t.Helper()
	for _, tc := range unavailableCases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, req{Method: tc.method, Path: tc.path, Token: e.token(t, tc.caller), Body: tc.body})
			mustDetail(t, r, http.StatusServiceUnavailable)
		})
	}
	t.Run("readyz", func(t *testing.T) {
		r := e.get(t, "/readyz", "")
		mustStatus(t, r, http.StatusServiceUnavailable)
		body := mustDecode[map[string]any](t, r)
		if d, ok := body["detail"].(string); !ok || d == "" {
			t.Errorf("readyz body: got %s, want a detail", r.Body)
		}
	})
	t.Run("healthz", func(t *testing.T) {
		mustStatus(t, e.get(t, "/healthz", ""), http.StatusOK)
	})
}

// The clients below fail fast (mustFastFailClient): go-redis would retry
// each dial and each command with backoff, which changes the latency of a
// 503, not its status. TestUnavailableDefaultRetries keeps the defaults.

func TestUnavailableClosedPort(t *testing.T) {
	mustAllUnavailable(t, newEnvWith(t, mustFastFailClient(t, mustClosedAddr(t)), envConfig{}))
}

func TestUnavailableDefaultRetries(t *testing.T) {
	e := newEnvWith(t, mustConnect(t, "redis://"+mustClosedAddr(t)+"/0"), envConfig{})
	mustDetail(t, e.get(t, pathAdmin, e.token(t, superAdmin)), http.StatusServiceUnavailable)
	mustStatus(t, e.get(t, "/readyz", ""), http.StatusServiceUnavailable)
}

// TestUnavailableStoppedServer stops a redis-server the router was using.
func TestUnavailableStoppedServer(t *testing.T) {
	srv := testredis.Start(t)
	e := newEnvWith(t, mustFastFailClient(t, srv.Addr()), envConfig{})
	e.seedWorld(t)
	mustStatus(t, e.get(t, "/readyz", ""), http.StatusOK)
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop redis-server: %v", err)
	}
	mustAllUnavailable(t, e)
}

// TestUnavailableStoppedDevStore stops the embedded dev store under the router.
func TestUnavailableStoppedDevStore(t *testing.T) {
	emb, err := redisstore.StartEmbedded()
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	e := newEnvWith(t, mustFastFailClient(t, emb.Addr()), envConfig{})
	e.seedWorld(t)
	emb.Close()
	mustAllUnavailable(t, e)
}
