package client_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/handlers"
	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/client"
	"github.com/sessiond/sessiond/pkg/config"
	"github.com/sessiond/sessiond/pkg/events"
	"github.com/sessiond/sessiond/redisstore"
)

// realRedis is the redis-server the package's tests share, one database each.
var realRedis *testredis.Server

func TestMain(m *testing.M) {
	os.Exit(testredis.RunMain(m, func(srv *testredis.Server) { realRedis = srv }))
}

// testSecret signs every token the tests mint.
var testSecret = testserver.Secret

// env is a real sessiond (handlers.New on redisstore on redis-server) served
// over loopback, with clients for each kind of caller.
type env struct {
	url     string // the API server
	handler http.Handler
	store   *redisstore.Store
	broker  *events.Broker

	// counter counts the requests of every client below, by path.
	counter *countingTransport

	admin   *client.Client // super_admin
	service *client.Client // sessions:read sessions:write
	anon    *client.Client // no token

	sseOnce sync.Once
	sse     *httptest.Server
}

type envOptions struct {
	rdb       redis.UniversalClient
	retention int64
	// revokeBatch is SESSIOND_REVOKE_BATCH (the default when 0).
	revokeBatch int
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	return newEnvWith(tb, envOptions{})
}

// newEnvOnOwnRedis is an env on a redis-server of its own, which the test
// stops to see Redis fail: the store's client then fails at once (no retry,
// 200ms to dial).
func newEnvOnOwnRedis(tb testing.TB) (*env, *testredis.Server) {
	tb.Helper()
	dedicated := testredis.Start(tb)
	rdb := redis.NewClient(&redis.Options{Addr: dedicated.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	tb.Cleanup(func() { _ = rdb.Close() })
	return newEnvWith(tb, envOptions{rdb: rdb}), dedicated
}

func newEnvWith(tb testing.TB, o envOptions) *env {
	tb.Helper()
	if o.rdb == nil {
		o.rdb = realRedis.NewClient(tb)
	}
	srv := testserver.New(tb, o.rdb, testserver.Options{
		Events: true, BrokerWait: 100 * time.Millisecond, Serve: true,
		Config: func(c *config.Config) {
			if o.retention > 0 {
				c.EventRetention = int(o.retention)
			}
			if o.revokeBatch > 0 {
				c.RevokeBatch = o.revokeBatch
			}
		},
		Deps: func(d *handlers.Deps) {
			d.DeviceOf = func(string) string { return "desktop" }
			d.KeepAlive = 200 * time.Millisecond
		},
	})
	e := &env{handler: srv.Handler, store: srv.Store, broker: srv.Broker, counter: newCountingTransport(), url: srv.URL}
	// The second server closes before the first (cleanups run last-in
	// first-out) and after the streams ended.
	tb.Cleanup(func() {
		if e.sse != nil {
			srv.StartShutdown()
			e.sse.Close()
		}
	})
	e.admin = e.client(tb, mint(tb, auth.MintOptions{Subject: "root", Role: auth.RoleSuperAdmin}))
	svc, err := auth.RoleOptions("service")
	if err != nil {
		tb.Fatal(err)
	}
	e.service = e.client(tb, mint(tb, svc))
	e.anon = e.client(tb, "")
	return e
}

// client returns a client of the API server sending token, counted by
// e.counter.
func (e *env) client(tb testing.TB, token string) *client.Client {
	tb.Helper()
	return mustClient(tb, e.url, client.WithToken(token), client.WithHTTPClient(&http.Client{Transport: e.counter}))
}

// sseServer is a second server of the same router, for event streams a test
// cuts or stops without touching the API server.
func (e *env) sseServer() *httptest.Server {
	e.sseOnce.Do(func() { e.sse = httptest.NewServer(e.handler) })
	return e.sse
}

// eventsClient returns a service client of the second server.
func (e *env) eventsClient(tb testing.TB) *client.Client {
	tb.Helper()
	svc, _ := auth.RoleOptions("service")
	return mustClient(tb, e.sseServer().URL, client.WithToken(mint(tb, svc)))
}

func mustClient(tb testing.TB, url string, opts ...client.Option) *client.Client {
	tb.Helper()
	c, err := client.New(url, opts...)
	if err != nil {
		tb.Fatalf("client.New(%q): %v", url, err)
	}
	return c
}

func mint(tb testing.TB, o auth.MintOptions) string {
	tb.Helper()
	tok, err := auth.MintHS256(testSecret, o)
	if err != nil {
		tb.Fatalf("MintHS256: %v", err)
	}
	return tok
}

// userToken mints the token of the session s for its user.
func userToken(tb testing.TB, s client.Session, tenantID string) string {
	tb.Helper()
	return mint(tb, auth.MintOptions{Subject: s.UserID, TenantID: tenantID, SessionID: s.ID})
}

// mustCreate creates a session through the internal API.
func (e *env) mustCreate(tb testing.TB, r client.CreateSessionRequest) client.Session {
	tb.Helper()
	if r.TTL == 0 && r.ExpiresAt.IsZero() {
		r.TTL = time.Hour
	}
	s, err := e.service.CreateSession(context.Background(), r)
	if err != nil {
		tb.Fatalf("CreateSession(%+v): %v", r, err)
	}
	return s
}

// waitFollowers waits until the router has n event-stream followers.
func (e *env) waitFollowers(tb testing.TB, n int) {
	tb.Helper()
	testserver.WaitFor(tb, fmt.Sprintf("%d event stream followers", n), func() bool { return e.broker.Followers() == n })
}

// countingTransport counts requests by URL path.
type countingTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
	all  atomic.Int64
}

func newCountingTransport() *countingTransport {
	return &countingTransport{base: http.DefaultTransport, n: map[string]int{}}
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	t.n[r.URL.Path]++
	t.mu.Unlock()
	t.all.Add(1)
	return t.base.RoundTrip(r)
}

func (t *countingTransport) count(path string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n[path]
}

func (t *countingTransport) verifies() int { return t.count("/api/v1/auth/verify") }

// uniq returns a fresh id with prefix, for tenants and users.
var uniqN atomic.Int64

func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d", strings.TrimSuffix(prefix, "-"), uniqN.Add(1))
}
