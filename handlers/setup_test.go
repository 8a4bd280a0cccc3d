package handlers_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/sessiond/sessiond/handlers"
	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/internal/testtopology"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/config"
	"github.com/sessiond/sessiond/pkg/metrics"
	"github.com/sessiond/sessiond/pkg/session"
	"github.com/sessiond/sessiond/pkg/verifycache"
	"github.com/sessiond/sessiond/redisstore"
)

// realRedis is the redis-server the package's tests share, one database each.
var realRedis *testredis.Server

func TestMain(m *testing.M) {
	srv, err := testredis.StartMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	realRedis = srv
	topo, err := testtopology.StartRequested(os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = srv.Stop()
		os.Exit(1)
	}
	backends = append(backends, topologyBackends(topo)...)
	code := m.Run()
	if err := topo.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// backend opens a client on an empty database of one kind of Redis.
type backend struct {
	name   string
	client func(tb testing.TB) redis.UniversalClient
}

var backends = []backend{
	{name: "redis-server", client: func(tb testing.TB) redis.UniversalClient {
		tb.Helper()
		return realRedis.NewClient(tb)
	}},
	{name: "embedded", client: mustEmbeddedClient},
}

// topologyBackends are the cluster and sentinel topologies that
// SESSIOND_TEST_TOPOLOGIES asks for (none by default). Each is shared by the
// package and emptied before each test, so tests using it must not run in
// parallel; the client connects the way cmd/sessiond does.
func topologyBackends(topo *testtopology.Topologies) []backend {
	var out []backend
	if c := topo.Cluster; c != nil {
		out = append(out, backend{name: "cluster", client: func(tb testing.TB) redis.UniversalClient {
			return mustTopologyClient(tb, c.Flush, redisstore.ConnectOptions{Mode: "cluster", Addrs: c.Addrs()})
		}})
	}
	if s := topo.Sentinel; s != nil {
		out = append(out, backend{name: "sentinel", client: func(tb testing.TB) redis.UniversalClient {
			return mustTopologyClient(tb, s.Flush, redisstore.ConnectOptions{
				Mode: "sentinel", Addrs: s.SentinelAddrs(), Master: s.MasterName(),
			})
		}})
	}
	return out
}

func mustTopologyClient(tb testing.TB, flush func(context.Context) error, o redisstore.ConnectOptions) redis.UniversalClient {
	tb.Helper()
	if err := flush(context.Background()); err != nil {
		tb.Fatalf("empty the %s topology: %v", o.Mode, err)
	}
	rdb, err := redisstore.Connect(o)
	if err != nil {
		tb.Fatalf("connect to the %s topology: %v", o.Mode, err)
	}
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// mustKeys returns the keys matching pattern; on a cluster, of every master
// (a cluster client sends KEYS to one node).
func mustKeys(tb testing.TB, rdb redis.UniversalClient, pattern string) []string {
	tb.Helper()
	ctx := context.Background()
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		keys, err := rdb.Keys(ctx, pattern).Result()
		if err != nil {
			tb.Fatalf("KEYS %s: %v", pattern, err)
		}
		return keys
	}
	var mu sync.Mutex
	var keys []string
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		ks, err := c.Keys(ctx, pattern).Result()
		mu.Lock()
		keys = append(keys, ks...)
		mu.Unlock()
		return err
	})
	if err != nil {
		tb.Fatalf("KEYS %s on every master: %v", pattern, err)
	}
	return keys
}

// mustEmbeddedClient starts a dev store of its own for the test and
// connects to it the way cmd/sessiond does. One store per test, not one
// database each of a shared store: with ClockTTL, miniredis ages every key of
// every database on each command, so a shared store slows down as the suite
// runs.
func mustEmbeddedClient(tb testing.TB) redis.UniversalClient {
	tb.Helper()
	emb, err := redisstore.StartEmbedded()
	if err != nil {
		tb.Fatalf("start the embedded store: %v", err)
	}
	tb.Cleanup(emb.Close)
	return mustConnect(tb, "redis://"+emb.Addr()+"/0")
}

// forEachBackend runs fn once per backend, as a subtest named after it.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// forEachWorld runs fn on every backend with a fresh env seeded with the
// world fixture (seedWorld).
func forEachWorld(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.seedWorld(t)
		fn(t, e)
	})
}

// testSecret signs every token the tests mint.
var testSecret = testserver.Secret

// maxLifetime is the router's SESSIOND_MAX_SESSION_LIFETIME in tests.
const maxLifetime = 720 * time.Hour

// env is one router on one empty Redis database.
type env struct {
	rdb    redis.UniversalClient
	router http.Handler
	// now is the router's clock: fixed, so that created_at and ttl-based
	// expiries are exact.
	now time.Time
	// iss and aud are put into every minted token when the verifier checks them.
	iss, aud string
	// cache is the router's verify cache.
	cache *verifycache.Cache
}

// envConfig changes how newEnvWith builds the router.
type envConfig struct {
	issuer, audience string
	// log receives the router's logs; none when nil.
	log *zap.Logger
	// wrap, when set, wraps the store (to inject failures).
	wrap func(session.Store) session.Store
	// bare leaves DeviceOf and MaxLifetime unset, to test the router's defaults.
	bare bool
	// retention is the event stream's retention (default 100000).
	retention int64
	// activity is Deps.ActivityInterval.
	activity time.Duration
	// metrics, when set, instruments the router and serves /metrics.
	metrics *metrics.Metrics
	// push serves the receivers routes (a generated signing key; the
	// worker runs, with no receiver reachable).
	push bool
	// cacheMaxAge is SESSIOND_VERIFY_CACHE_MAX_AGE (the cache is on, as by
	// default; it serves only while the event tail runs: events).
	cacheMaxAge time.Duration
	// history keeps revoked sessions and the audit (SESSIOND_HISTORY_RETENTION
	// 1h). Off by default: most tests check the reference's behaviour, which
	// history off restores exactly.
	history bool
	// events serves the revocation stream (a broker per env costs a blocking
	// Redis read, so only the stream tests ask for one).
	events bool
	// revokeBatch is SESSIOND_REVOKE_BATCH (the default when 0).
	revokeBatch int
	// viewShards is SESSIOND_VIEW_SHARDS (the default when 0).
	viewShards int
}

// newEnv builds the real router (handlers.New) on an empty database of b.
func newEnv(tb testing.TB, b backend) *env {
	tb.Helper()
	return newEnvWith(tb, b.client(tb), envConfig{})
}

func newEnvWith(tb testing.TB, rdb redis.UniversalClient, cfg envConfig) *env {
	tb.Helper()
	e := &env{rdb: rdb, now: time.Now().UTC().Truncate(time.Millisecond), iss: cfg.issuer, aud: cfg.audience}
	srv := testserver.New(tb, rdb, testserver.Options{
		Config: func(c *config.Config) {
			c.Issuer, c.Audience = cfg.issuer, cfg.audience
			c.MaxSessionLifetime = maxLifetime
			c.ActivityInterval = cfg.activity
			if cfg.retention > 0 {
				c.EventRetention = int(cfg.retention)
			}
			if cfg.cacheMaxAge > 0 {
				c.VerifyCacheMaxAge = cfg.cacheMaxAge
			}
			if cfg.revokeBatch > 0 {
				c.RevokeBatch = cfg.revokeBatch
			}
			if cfg.viewShards > 0 {
				c.ViewShards = cfg.viewShards
			}
			c.HistoryRetention = 0
			if cfg.history {
				c.HistoryRetention = time.Hour
			}
		},
		Events: cfg.events, Log: cfg.log, Metrics: cfg.metrics, Push: cfg.push,
		Deps: func(d *handlers.Deps) {
			d.Now = func() time.Time { return e.now }
			d.KeepAlive = 150 * time.Millisecond
			if cfg.wrap != nil {
				d.Store = cfg.wrap(d.Store)
			}
			if cfg.bare {
				d.MaxLifetime, d.DeviceOf = 0, nil
			}
		},
	})
	e.router = srv.Handler
	e.cache = srv.VerifyCache
	return e
}

// mustConnect is a client made by redisstore.Connect, closed at the end of
// the test.
func mustConnect(tb testing.TB, url string) redis.UniversalClient {
	tb.Helper()
	// Generous: the embedded store slows down on a loaded CI machine.
	rdb, err := redisstore.Connect(redisstore.ConnectOptions{URL: url, Timeout: 5 * time.Second})
	if err != nil {
		tb.Fatalf("connect to %s: %v", url, err)
	}
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// mustFastFailClient is a client of addr that neither retries dials nor
// commands.
func mustFastFailClient(tb testing.TB, addr string) redis.UniversalClient {
	tb.Helper()
	rdb := redis.NewClient(&redis.Options{
		Addr: addr, MaxRetries: -1, DialerRetries: 1, DialerRetryTimeout: time.Millisecond,
		DialTimeout: 500 * time.Millisecond,
	})
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// mustClosedAddr is a loopback address nobody listens on.
func mustClosedAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// Callers of the reach rules (the reach rules, docs/auth.md). Tenants T1 and T2 belong to partner
// P1, tenant T3 to partner P2 (see seedWorld).
var (
	superAdmin    = auth.MintOptions{Subject: "root", Role: auth.RoleSuperAdmin}
	partnerAdmin  = auth.MintOptions{Subject: "padmin", Role: auth.RolePartnerAdmin, PartnerID: "P1"}
	tenantAdmin   = auth.MintOptions{Subject: "tadmin", Role: auth.RoleTenantAdmin, TenantID: "T1"}
	platformRead  = auth.MintOptions{Subject: "platform", Platform: true, Scope: auth.ScopeAdminRead}
	platformWrite = auth.MintOptions{Subject: "platform", Platform: true, Scope: auth.ScopeAdminWrite}
	serviceRead   = mustService(auth.ScopeSessionsRead)
	serviceWrite  = mustService(auth.ScopeSessionsWrite)
	userU1        = auth.MintOptions{Subject: "u1", TenantID: "T1", SessionID: "t1-u1-a"}
)

// mustService is the `sessiond token --role service` token narrowed to scope.
func mustService(scope string) auth.MintOptions {
	o, err := auth.RoleOptions("service")
	if err != nil {
		panic(err)
	}
	o.Scope = scope
	return o
}

// token mints an HS256 token for o, with the issuer and audience the
// verifier checks.
func (e *env) token(tb testing.TB, o auth.MintOptions) string {
	tb.Helper()
	if o.Issuer == "" {
		o.Issuer = e.iss
	}
	if o.Audience == "" {
		o.Audience = e.aud
	}
	return mustToken(tb, testSecret, o)
}

func mustToken(tb testing.TB, secret []byte, o auth.MintOptions) string {
	tb.Helper()
	tok, err := auth.MintHS256(secret, o)
	if err != nil {
		tb.Fatalf("MintHS256: %v", err)
	}
	return tok
}
