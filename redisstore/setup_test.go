package redisstore

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/internal/testtopology"
	"github.com/sessiond/sessiond/pkg/session"
)

var srv *testredis.Server

// topo holds the cluster and sentinel topologies SESSIOND_TEST_TOPOLOGIES
// asks for (none by default).
var topo *testtopology.Topologies

func TestMain(m *testing.M) {
	var err error
	srv, err = testredis.StartMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, "redisstore tests need a real redis-server:", err)
		os.Exit(1)
	}
	if topo, err = testtopology.StartRequested(os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "redisstore tests:", err)
		_ = srv.Stop()
		os.Exit(1)
	}
	code := m.Run()
	_ = topo.Stop()
	_ = srv.Stop()
	os.Exit(code)
}

// backend is a Redis the store tests run against: the real server, the
// embedded dev store, and the cluster and sentinel topologies when
// SESSIOND_TEST_TOPOLOGIES asks for them. A topology is shared by the
// package, emptied before each test: tests using it must not run in parallel.
type backend struct {
	name string
	open func(tb testing.TB) redis.UniversalClient
}

func backends() []backend {
	list := []backend{
		{name: "redis-server", open: func(tb testing.TB) redis.UniversalClient { return srv.NewClient(tb) }},
		{name: "embedded", open: func(tb testing.TB) redis.UniversalClient {
			tb.Helper()
			e, err := StartEmbedded()
			if err != nil {
				tb.Fatalf("start embedded: %v", err)
			}
			c := redis.NewClient(&redis.Options{Addr: e.Addr()})
			tb.Cleanup(func() { _ = c.Close(); e.Close() })
			return c
		}},
	}
	if topo.Cluster != nil {
		list = append(list, backend{name: "cluster", open: func(tb testing.TB) redis.UniversalClient {
			return openTopology(tb, topo.Cluster.Flush, ConnectOptions{Mode: "cluster", Addrs: topo.Cluster.Addrs()})
		}})
	}
	if topo.Sentinel != nil {
		list = append(list, backend{name: "sentinel", open: func(tb testing.TB) redis.UniversalClient {
			return openTopology(tb, topo.Sentinel.Flush, ConnectOptions{
				Mode: "sentinel", Addrs: topo.Sentinel.SentinelAddrs(), Master: topo.Sentinel.MasterName(),
			})
		}})
	}
	return list
}

// openTopology empties a shared topology and connects to it as cmd/sessiond
// does; the client is closed when the test ends.
func openTopology(tb testing.TB, flush func(context.Context) error, o ConnectOptions) redis.UniversalClient {
	tb.Helper()
	if err := flush(context.Background()); err != nil {
		tb.Fatalf("empty the %s topology: %v", o.Mode, err)
	}
	rdb, err := Connect(o)
	if err != nil {
		tb.Fatalf("connect to the %s topology: %v", o.Mode, err)
	}
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// scanKeys returns the keys matching pattern. On a cluster it scans every
// master: a cluster client sends SCAN to one node.
func scanKeys(tb testing.TB, rdb redis.UniversalClient, pattern string) []string {
	tb.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	var keys []string
	scan := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			keys = append(keys, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	var err error
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, rdb)
	}
	if err != nil {
		tb.Fatalf("scan %s: %v", pattern, err)
	}
	return keys
}

// forEachBackend runs f once per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, rdb redis.UniversalClient)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { f(t, b.open(t)) })
	}
}

var seq atomic.Int64

// newSession returns a valid session expiring ttl from now.
func newSession(tenant, partner, user string, ttl time.Duration) *session.Session {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return &session.Session{
		ID:         "s" + strconv.FormatInt(seq.Add(1), 10),
		UserID:     user,
		TenantID:   tenant,
		PartnerID:  partner,
		UserAgent:  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
		IPAddress:  "203.0.113.7",
		DeviceType: session.DeviceDesktop,
		CreatedAt:  now,
		ExpiresAt:  now.Add(ttl),
	}
}

func mustCreate(tb testing.TB, s *Store, sess *session.Session) {
	tb.Helper()
	if err := s.Create(context.Background(), sess); err != nil {
		tb.Fatalf("create %s: %v", sess.ID, err)
	}
}

func mustList(tb testing.TB, s *Store, f session.Filter, page, per int) session.PageResult {
	tb.Helper()
	res, err := s.List(context.Background(), f, session.Page{Number: page, PerPage: per})
	if err != nil {
		tb.Fatalf("list %+v: %v", f, err)
	}
	return res
}

func ids(items []session.Session) []string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = s.ID
	}
	return out
}

func revokedIDs(rs []session.Revoked) map[string]bool {
	out := map[string]bool{}
	for _, r := range rs {
		out[r.ID] = true
	}
	return out
}

// viewOf reads every member of a view (partnerID "" = the global view) from
// all the keys that may hold one, in ZRANGE order (score, then member).
func viewOf(tb testing.TB, st *Store, rdb redis.UniversalClient, partnerID string) []redis.Z {
	tb.Helper()
	var out []redis.Z
	for _, key := range st.views.readKeys(partnerID) {
		zs, err := rdb.ZRangeWithScores(context.Background(), key, 0, -1).Result()
		if err != nil {
			tb.Fatalf("read view %s: %v", key, err)
		}
		out = append(out, zs...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score < out[j].Score
		}
		return out[i].Member.(string) < out[j].Member.(string)
	})
	return out
}

// viewMembersOf is the sorted members of a view.
func viewMembersOf(tb testing.TB, st *Store, rdb redis.UniversalClient, partnerID string) []string {
	tb.Helper()
	var out []string
	for _, z := range viewOf(tb, st, rdb, partnerID) {
		out = append(out, z.Member.(string))
	}
	sort.Strings(out)
	return out
}

// viewScore is a session's score in a view, 0 when the view lacks it.
func viewScore(tb testing.TB, st *Store, rdb redis.UniversalClient, partnerID, tenantID, sid string) int64 {
	tb.Helper()
	for _, z := range viewOf(tb, st, rdb, partnerID) {
		if z.Member == viewMember(tenantID, sid) {
			return int64(z.Score)
		}
	}
	return 0
}
