package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testtopology"
	"github.com/sessiond/sessiond/pkg/session"
)

// Tests of what only a replicated or sharded topology can show. They run
// when SESSIOND_TEST_TOPOLOGIES asks for the topology (the rest of the suite
// then runs on it too, through forEachBackend).

// openBackend opens the named backend, skipping the test when
// SESSIOND_TEST_TOPOLOGIES did not ask for it.
func openBackend(t *testing.T, name string) redis.UniversalClient {
	t.Helper()
	for _, b := range backends() {
		if b.name == name {
			return b.open(t)
		}
	}
	t.Skipf("the %s topology is not running: set %s=%s to test it", name, testtopology.EnvVar, name)
	return nil
}

func clusterClient(t *testing.T) *redis.ClusterClient {
	t.Helper()
	return openBackend(t, "cluster").(*redis.ClusterClient)
}

// TestClusterTenantKeysShareOneSlot: every key a tenant owns, of every kind
// the store writes, hashes to the tenant's slot and lives on one master, so
// the tenant-scoped scripts (create, touch, revoke, repair) are atomic there.
// (Redis itself refuses a script that reaches into another slot, so the
// whole suite passing on the cluster backend proves the scripts stay in it.)
func TestClusterTenantKeysShareOneSlot(t *testing.T) {
	rdb := clusterClient(t)
	ctx := context.Background()
	clock := time.Now()
	st := New(rdb, Options{Now: func() time.Time { return clock }})
	const tenant = "acme"
	var made []*session.Session
	for i := 0; i < 10; i++ {
		s := newSession(tenant, "p1", "u"+itoa(int64(i%3)), time.Duration(i+1)*time.Hour)
		s.DeviceType = session.DeviceTypes[i%len(session.DeviceTypes)]
		mustCreate(t, st, s)
		made = append(made, s)
	}
	// Other tenants, so that the tenant's keys have neighbours to be told
	// apart from.
	for i := 0; i < 5; i++ {
		mustCreate(t, st, newSession(fmt.Sprintf("other-%d", i), "p1", "u0", time.Hour))
	}
	if err := st.Touch(ctx, tenant, made[0].ID, session.Activity{AppID: "crm", AppName: "CRM"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: tenant}, IDs: []string{made[1].ID}}); err != nil {
		t.Fatal(err)
	}
	// A lost view write leaves an outbox entry younger than the sweep's
	// grace period; the sweep then leaves it, and takes the tenant's lock.
	loseViewWrite(t, st, rdb, tenant, "p1", made[2].ID, clock)
	if _, err := st.Sweep(ctx); err != nil {
		t.Fatal(err)
	}

	k := tenantKeys(tenant)
	kinds := map[string]string{
		"session hash":      "s:" + k.tag + ":",
		"tenant index":      k.all(),
		"user index":        "ix:" + k.tag + ":u:",
		"device index":      "ix:" + k.tag + ":d:",
		"users index":       k.users(),
		"outbox":            k.outbox(),
		"partner":           k.partner(),
		"created counter":   "st:" + k.tag + ":c:",
		"revoked counter":   "st:" + k.tag + ":r:",
		"tenant sweep lock": k.sweepLock(),
	}
	keys := scanKeys(t, rdb, "*"+k.tag+"*")
	for kind, prefix := range kinds {
		if !containsPrefix(keys, prefix) {
			t.Errorf("no %s key (%s…) among the tenant's keys %v: the test no longer covers it", kind, prefix, keys)
		}
	}
	want, err := rdb.ClusterKeySlot(ctx, k.tag).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		if got, err := rdb.ClusterKeySlot(ctx, key).Result(); err != nil || got != want {
			t.Errorf("CLUSTER KEYSLOT %s = %d, %v; want the tenant's slot %d", key, got, err, want)
		}
	}
	// All of them are on one master, and that master is the slot's.
	owner, err := rdb.MasterForKey(ctx, k.all())
	if err != nil {
		t.Fatal(err)
	}
	perMaster := keysPerMaster(t, rdb, "*"+k.tag+"*")
	if len(perMaster) != 1 || perMaster[owner.Options().Addr] != len(keys) {
		t.Errorf("the tenant's %d keys are spread as %v, want all on %s", len(keys), perMaster, owner.Options().Addr)
	}
}

// TestClusterTenantsSpreadOverMasters: different tenants land on different
// masters, so the load shards by tenant.
func TestClusterTenantsSpreadOverMasters(t *testing.T) {
	rdb := clusterClient(t)
	ctx := context.Background()
	st := New(rdb, Options{})
	const tenants = 24
	for i := 0; i < tenants; i++ {
		mustCreate(t, st, newSession(fmt.Sprintf("tenant-%02d", i), fmt.Sprintf("p%d", i%3), "u", time.Hour))
	}
	masters, err := topo.Cluster.Masters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	perMaster := keysPerMaster(t, rdb, "s:{tenant-*}:*")
	total := 0
	for _, n := range perMaster {
		total += n
	}
	if total != tenants {
		t.Errorf("found %d session hashes, want %d", total, tenants)
	}
	if len(perMaster) != len(masters) {
		t.Errorf("%d tenants' sessions sit on %d of %d masters (%v), want every master used", tenants, len(perMaster), len(masters), perMaster)
	}
	for i := 0; i < tenants; i++ {
		tenant := fmt.Sprintf("tenant-%02d", i)
		if res := mustList(t, st, session.Filter{TenantID: tenant}, 1, 10); res.Total != 1 {
			t.Errorf("tenant %s lists %d sessions, want 1", tenant, res.Total)
		}
	}
	if res := mustList(t, st, session.Filter{}, 1, 100); res.Total != tenants {
		t.Errorf("global view lists %d sessions, want %d", res.Total, tenants)
	}
}

// TestViewsExactAfterSweep: after lost view writes and lost revocation
// clean-ups (a crash between the tenant step and the view step), the sweep
// makes the partner and global views exact: the same sessions, with the same
// expiries, as the union of the tenant indexes. On a cluster the views live
// on other masters than most tenants.
func TestViewsExactAfterSweep(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clock := time.Now()
		// A short sweep lock, so that the second sweep below visits again.
		st := New(rdb, Options{RevokeBatch: 4, SweepLock: time.Millisecond, Now: func() time.Time { return clock }})
		partnerOf := map[string]string{"solo": ""}
		for i := 0; i < 4; i++ {
			partnerOf[fmt.Sprintf("a%d", i)] = "pa"
		}
		for i := 0; i < 3; i++ {
			partnerOf[fmt.Sprintf("b%d", i)] = "pb"
		}
		tenants := make([]string, 0, len(partnerOf))
		for tn := range partnerOf {
			tenants = append(tenants, tn)
		}
		sort.Strings(tenants)
		var made []*session.Session
		for i := 0; i < 6; i++ {
			for _, tn := range tenants {
				s := newSession(tn, partnerOf[tn], "u"+itoa(int64(i%3)), time.Hour+time.Duration(len(made))*time.Minute)
				mustCreate(t, st, s)
				made = append(made, s)
			}
		}
		// Crash simulations: every 5th session lost its view write; every
		// 7th was revoked in its tenant slot and its clean-up never ran.
		lost, orphaned := 0, 0
		for i, s := range made {
			switch {
			case i%7 == 3:
				if n := revokeIDsScriptOnly(t, st, s.TenantID, s.ID); n != 1 {
					t.Fatalf("the revoke script revoked %d sessions, want 1", n)
				}
				orphaned++
			case i%5 == 1:
				loseViewWrite(t, st, rdb, s.TenantID, s.PartnerID, s.ID, clock)
				lost++
			}
		}
		wantGlobal := len(made) - orphaned
		if n := len(viewOf(t, st, rdb, "")); n != len(made)-lost {
			t.Fatalf("before the sweep the global view holds %d, want %d (the simulation did not bite)", n, len(made)-lost)
		}

		clock = clock.Add(outboxGrace + time.Second)
		res, err := st.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Reconciled < lost+orphaned {
			t.Errorf("reconciled %d outbox entries, want >= %d", res.Reconciled, lost+orphaned)
		}

		// Per tenant: what the tenant index lists; per partner and globally:
		// the union of those.
		byTenant := map[string][]session.Session{}
		sum := map[string]int64{}
		var all int64
		for _, tn := range tenants {
			r := mustList(t, st, session.Filter{TenantID: tn}, 1, 100)
			byTenant[tn] = r.Items
			sum[partnerOf[tn]] += r.Total
			all += r.Total
		}
		if all != int64(wantGlobal) {
			t.Errorf("tenant indexes hold %d sessions, want %d", all, wantGlobal)
		}
		for _, f := range []session.Filter{{}, {PartnerID: "pa"}, {PartnerID: "pb"}} {
			var want []string
			for _, tn := range tenants {
				if f.PartnerID == "" || partnerOf[tn] == f.PartnerID {
					for _, s := range byTenant[tn] {
						want = append(want, viewMember(tn, s.ID)+"@"+itoa(ms(s.ExpiresAt)))
					}
				}
			}
			total := all
			if f.PartnerID != "" {
				total = sum[f.PartnerID]
			}
			r := mustList(t, st, f, 1, 200)
			if r.Total != total || len(r.Items) != int(total) {
				t.Errorf("%+v: view lists total %d with %d items, want the sum of its tenants, %d", f, r.Total, len(r.Items), total)
			}
			zs := viewOf(t, st, rdb, f.PartnerID)
			got := make([]string, len(zs))
			for i, z := range zs {
				got[i] = fmt.Sprint(z.Member) + "@" + itoa(int64(z.Score))
			}
			sort.Strings(want)
			sort.Strings(got)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("view %q after the sweep differs from its tenant indexes (-want +got):\n%s", f.PartnerID, d)
			}
		}
		// Nothing is left for a later sweep to fix.
		time.Sleep(20 * time.Millisecond) // the sweep locks expire
		clock = clock.Add(outboxGrace + time.Second)
		if res, err := st.Sweep(ctx); err != nil || res.Reconciled != 0 || res.Tenants != len(tenants) {
			t.Errorf("second sweep visited %d tenants and reconciled %d, %v; want %d and 0", res.Tenants, res.Reconciled, err, len(tenants))
		}
	})
}

// loseViewWrite simulates a crash between a create's tenant step and its
// view step: the views miss the session and the tenant's outbox names it.
func loseViewWrite(tb testing.TB, st *Store, rdb redis.UniversalClient, tenant, partner, sid string, at time.Time) {
	tb.Helper()
	ctx := context.Background()
	pipe := rdb.Pipeline()
	views := []string{""}
	if partner != "" {
		views = append(views, partner)
	}
	for _, p := range views {
		for _, key := range st.views.readKeys(p) {
			pipe.ZRem(ctx, key, viewMember(tenant, sid))
		}
	}
	pipe.ZAdd(ctx, tenantKeys(tenant).outbox(), redis.Z{Score: float64(ms(at)), Member: sid})
	if _, err := pipe.Exec(ctx); err != nil {
		tb.Fatalf("simulate a lost view write: %v", err)
	}
}

// TestClusterRevokeIsBatched is TestRevokeIsBatched on a cluster, counting
// script calls on every master.
func TestClusterRevokeIsBatched(t *testing.T) {
	rdb := clusterClient(t)
	ctx := context.Background()
	st := New(rdb, Options{RevokeBatch: 25})
	for i := 0; i < 100; i++ {
		mustCreate(t, st, newSession("bulk", "p", "u"+itoa(int64(i%10)), time.Hour))
	}
	resetStats(t, rdb)
	got, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "bulk"}})
	if err != nil || len(got) != 100 {
		t.Fatalf("revoked %d, %v; want 100", len(got), err)
	}
	stats := commandStats(t, rdb)
	calls := 0
	for _, info := range stats {
		calls += cmdCalls(info, "evalsha") + cmdCalls(info, "eval")
	}
	// As in TestRevokeIsBatched: per batch the users read, the script and
	// the events, once the visit; each may count twice when not loaded yet.
	if calls < 4 || calls > 2*(3*4+1) {
		t.Errorf("revoke of 100 sessions in batches of 25 ran %d scripts on the masters, want 4 to 26", calls)
	}
	if n := checkIndexed(t, rdb, 250); n != 0 {
		t.Errorf("%d sessions survived", n)
	}
}

// TestClusterStatsDoNotScan is TestStatsDoNotScan on a cluster: no master
// saw a scan or a range read.
func TestClusterStatsDoNotScan(t *testing.T) {
	rdb := clusterClient(t)
	ctx := context.Background()
	st := New(rdb, Options{})
	for i := 0; i < 50; i++ {
		mustCreate(t, st, newSession("t1", "", "u", time.Hour))
	}
	resetStats(t, rdb)
	got, err := st.Stats(ctx, "t1")
	if err != nil || got.ActiveSessions != 50 {
		t.Fatalf("stats: %+v, %v; want 50 active sessions", got, err)
	}
	for addr, info := range commandStats(t, rdb) {
		for _, bad := range []string{"cmdstat_scan", "cmdstat_zrange", "cmdstat_hgetall", "cmdstat_keys", "cmdstat_zscan"} {
			if strings.Contains(info, bad+":") {
				t.Errorf("stats used %s on %s", bad, addr)
			}
		}
	}
}

// TestDurableRevokeOnReplicas: with WaitReplicas at the number of replicas a
// master has, a revocation is acknowledged (WAIT is sent to the master that
// ran the script: on a cluster, the tenant slot's); asking for one more
// reports ErrUnavailable after revoking on the master.
func TestDurableRevokeOnReplicas(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replicas int
	}{
		{"cluster", testtopology.ClusterReplicas},
		{"sentinel", testtopology.SentinelReplicas},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb := openBackend(t, tc.name)
			ctx := context.Background()
			st := New(rdb, Options{WaitReplicas: tc.replicas, WaitTimeout: 2 * time.Second, RevokeBatch: 3})
			var made []string
			for i := 0; i < 8; i++ {
				tenant := fmt.Sprintf("dur-%d", i%4) // several tenants: several masters on a cluster
				s := newSession(tenant, "p", "u", time.Hour)
				mustCreate(t, st, s)
				made = append(made, s.ID)
			}
			got, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{PartnerID: "p"}})
			if err != nil || len(got) != len(made) {
				t.Fatalf("durable revoke: %d revoked, %v; want %d and no error", len(got), err, len(made))
			}
			more := New(rdb, Options{WaitReplicas: tc.replicas + 1, WaitTimeout: 50 * time.Millisecond})
			s := newSession("dur-0", "p", "u", time.Hour)
			mustCreate(t, more, s)
			got, err = more.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "dur-0"}, IDs: []string{s.ID}})
			if !errors.Is(err, session.ErrUnavailable) || len(got) != 1 {
				t.Errorf("revoke waiting for %d replicas: %d revoked, %v; want 1 and ErrUnavailable", tc.replicas+1, len(got), err)
			}
			if n := checkIndexed(t, rdb, 250); n != 0 {
				t.Errorf("%d sessions survived", n)
			}
		})
	}
}

// TestClusterRevocationSurvivesFailover kills the master of a tenant's slot
// right after a durable revocation: once its replica took over, the revoked
// sessions stay revoked, the others stay listed, and the long-lived client
// finds the new master by itself. It runs on a cluster of its own.
func TestClusterRevocationSurvivesFailover(t *testing.T) {
	if topo.Cluster == nil {
		t.Skipf("set %s=cluster to test a cluster failover", testtopology.EnvVar)
	}
	c := testtopology.StartCluster(t)
	rdb, err := Connect(ConnectOptions{Mode: "cluster", Addrs: c.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	const tenant = "fo"
	st := New(rdb, Options{WaitReplicas: 1, WaitTimeout: 2 * time.Second})
	revoked, kept := createAndRevokeHalf(t, st, tenant)

	node, err := rdb.(*redis.ClusterClient).MasterForKey(ctx, tenantKeys(tenant).all())
	if err != nil {
		t.Fatal(err)
	}
	masters, err := c.Masters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := indexOf(masters, node.Options().Addr)
	if i < 0 {
		t.Fatalf("the tenant's master %s is not among %v", node.Options().Addr, masters)
	}
	start := time.Now()
	if _, err := c.KillMaster(i); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster failover of %s took %s", masters[i], time.Since(start).Round(time.Millisecond))
	checkAfterFailover(t, st, rdb, tenant, revoked, kept)

	// The promoted replica has no replica of its own: a durable revocation
	// there is applied and reported as not durable.
	short := New(rdb, Options{WaitReplicas: 1, WaitTimeout: 100 * time.Millisecond})
	got, err := short.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: tenant}, IDs: kept[:1]})
	if !errors.Is(err, session.ErrUnavailable) || len(got) != 1 {
		t.Errorf("durable revoke on a master without replica: %d revoked, %v; want 1 and ErrUnavailable", len(got), err)
	}
}

// TestSentinelRevocationSurvivesFailover is the same behind Sentinel: the
// failover client follows the sentinels to the promoted replica.
func TestSentinelRevocationSurvivesFailover(t *testing.T) {
	if topo.Sentinel == nil {
		t.Skipf("set %s=sentinel to test a sentinel failover", testtopology.EnvVar)
	}
	s := testtopology.StartSentinel(t)
	rdb, err := Connect(ConnectOptions{Mode: "sentinel", Addrs: s.SentinelAddrs(), Master: s.MasterName()})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	const tenant = "fo"
	st := New(rdb, Options{WaitReplicas: testtopology.SentinelReplicas, WaitTimeout: 2 * time.Second})
	revoked, kept := createAndRevokeHalf(t, st, tenant)

	start := time.Now()
	old, err := s.KillMaster()
	if err != nil {
		t.Fatal(err)
	}
	now, err := s.WaitFailover(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sentinel failover from %s to %s took %s", old, now, time.Since(start).Round(time.Millisecond))
	checkAfterFailover(t, st, rdb, tenant, revoked, kept)

	// One replica is left: waiting for it succeeds.
	one := New(rdb, Options{WaitReplicas: 1, WaitTimeout: 2 * time.Second})
	if got, err := one.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: tenant}, IDs: kept[:1]}); err != nil || len(got) != 1 {
		t.Errorf("durable revoke after the failover: %d revoked, %v; want 1, nil", len(got), err)
	}
}

// createAndRevokeHalf creates 6 sessions in tenant and revokes 3 of them
// durably; it returns the revoked and the kept ids.
func createAndRevokeHalf(t *testing.T, st *Store, tenant string) (revoked, kept []string) {
	t.Helper()
	for i := 0; i < 6; i++ {
		s := newSession(tenant, "p", "u"+itoa(int64(i%2)), time.Hour)
		mustCreate(t, st, s)
		if i%2 == 0 {
			revoked = append(revoked, s.ID)
		} else {
			kept = append(kept, s.ID)
		}
	}
	got, err := st.Revoke(context.Background(), session.Revocation{Filter: session.Filter{TenantID: tenant}, IDs: revoked})
	if err != nil || len(got) != len(revoked) {
		t.Fatalf("durable revoke before the failover: %d revoked, %v; want %d, nil", len(got), err, len(revoked))
	}
	return revoked, kept
}

// checkAfterFailover waits (10s at most) until the long-lived client serves
// again, then checks that the revoked sessions stayed revoked and the kept
// ones are intact and indexed.
func checkAfterFailover(t *testing.T, st *Store, rdb redis.UniversalClient, tenant string, revoked, kept []string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := st.GetInTenant(ctx, tenant, kept[0])
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client does not serve 10s after the failover: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, id := range revoked {
		if _, err := st.Get(ctx, id); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("revoked session %s after the failover: %v, want ErrNotFound", id, err)
		}
	}
	for _, id := range kept {
		if _, err := st.Get(ctx, id); err != nil {
			t.Errorf("kept session %s after the failover: %v", id, err)
		}
	}
	res := mustList(t, st, session.Filter{TenantID: tenant}, 1, 10)
	got := ids(res.Items)
	sort.Strings(got)
	want := append([]string{}, kept...)
	sort.Strings(want)
	if d := cmp.Diff(want, got); d != "" || res.Total != int64(len(kept)) {
		t.Errorf("tenant lists total %d after the failover (-want +got):\n%s", res.Total, d)
	}
	if n := checkIndexed(t, rdb, 250); n != len(kept) {
		t.Errorf("%d live sessions after the failover, want %d", n, len(kept))
	}
}

// keysPerMaster counts, per master address, the keys matching pattern.
func keysPerMaster(tb testing.TB, rdb *redis.ClusterClient, pattern string) map[string]int {
	tb.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	out := map[string]int{}
	err := rdb.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		n := 0
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			n++
		}
		if n > 0 {
			mu.Lock()
			out[c.Options().Addr] += n
			mu.Unlock()
		}
		return iter.Err()
	})
	if err != nil {
		tb.Fatalf("scan %s on every master: %v", pattern, err)
	}
	return out
}

// resetStats runs CONFIG RESETSTAT on every master.
func resetStats(tb testing.TB, rdb *redis.ClusterClient) {
	tb.Helper()
	err := rdb.ForEachMaster(context.Background(), func(ctx context.Context, c *redis.Client) error {
		return c.ConfigResetStat(ctx).Err()
	})
	if err != nil {
		tb.Fatalf("CONFIG RESETSTAT: %v", err)
	}
}

// commandStats returns INFO commandstats of every master, by address.
func commandStats(tb testing.TB, rdb *redis.ClusterClient) map[string]string {
	tb.Helper()
	var mu sync.Mutex
	out := map[string]string{}
	err := rdb.ForEachMaster(context.Background(), func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "commandstats").Result()
		mu.Lock()
		out[c.Options().Addr] = info
		mu.Unlock()
		return err
	})
	if err != nil {
		tb.Fatalf("INFO commandstats: %v", err)
	}
	return out
}

func containsPrefix(keys []string, prefix string) bool {
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
