package redisstore

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/pkg/session"
)

// TestRevokeIsBatched: a bulk revocation costs one script call per batch and
// one cleanup pipeline per batch, never a round trip per session.
func TestRevokeIsBatched(t *testing.T) {
	rdb := srv.NewClient(t)
	ctx := context.Background()
	st := New(rdb, Options{RevokeBatch: 25})
	for i := 0; i < 100; i++ {
		mustCreate(t, st, newSession("bulk", "p", "u"+itoa(int64(i%10)), time.Hour))
	}
	if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "bulk"}})
	if err != nil || len(got) != 100 {
		t.Fatalf("revoked %d, %v; want 100", len(got), err)
	}
	info, _ := rdb.Info(ctx, "commandstats").Result()
	calls := cmdCalls(info, "evalsha") + cmdCalls(info, "eval")
	// Per batch: the read of its sessions' users, the revoke script and the
	// events; once: the tenant's visit. A script the server has not loaded
	// yet counts twice (EVALSHA answered NOSCRIPT, then EVAL). A round trip
	// per session would be 100 and more.
	if calls < 4 || calls > 2*(3*4+1) {
		t.Errorf("revoke of 100 sessions in batches of 25 ran %d scripts, want 4 to 26", calls)
	}
}

// cmdCalls reads calls=N of one command from INFO commandstats.
func cmdCalls(info, cmd string) int {
	for _, line := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(line, "cmdstat_"+cmd+":calls="); ok {
			n, _, _ := strings.Cut(rest, ",")
			return int(atoi(n))
		}
	}
	return 0
}

// TestSweepReconcilesViews: after a crash between the tenant step and the
// view step, the sweep restores the views from the tenant's outbox; after a
// mass expiry it prunes every index.
func TestSweepReconcilesViews(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clock := time.Now()
		st := New(rdb, Options{Now: func() time.Time { return clock }})
		live := newSession("t1", "p1", "u1", time.Hour)
		mustCreate(t, st, live)
		gone := newSession("t1", "p1", "u1", time.Hour)
		mustCreate(t, st, gone)
		// Crash simulations: the view step of "live" never ran; the cleanup of
		// "gone" never ran after its tenant-slot revocation.
		loseViewWrite(t, st, rdb, "t1", "p1", live.ID, clock)
		if n := revokeIDsScriptOnly(t, st, "t1", gone.ID); n != 1 {
			t.Fatalf("the revoke script revoked %d sessions, want 1", n)
		}
		clock = clock.Add(outboxGrace + time.Second)
		res, err := st.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Reconciled < 2 {
			t.Errorf("reconciled %d outbox entries, want >= 2", res.Reconciled)
		}
		for _, p := range []string{"", "p1"} {
			if members := viewMembersOf(t, st, rdb, p); len(members) != 1 || members[0] != viewMember("t1", live.ID) {
				t.Errorf("view %q = %v, want only %s", p, members, live.ID)
			}
		}
		if n, _ := rdb.ZCard(ctx, tenantKeys("t1").outbox()).Result(); n != 0 {
			t.Errorf("outbox keeps %d entries after the sweep", n)
		}
	})
}

func TestSweepPrunesAfterMassExpiry(t *testing.T) {
	rdb := srv.NewClient(t)
	ctx := context.Background()
	st := New(rdb, Options{})
	// All 200 expire at one instant, far enough ahead to be counted first
	// even on a loaded machine.
	exp := time.Now().Add(2 * time.Second).Truncate(time.Millisecond)
	for i := 0; i < 200; i++ {
		s := newSession("mass", "p", "u"+itoa(int64(i%20)), time.Hour)
		s.ExpiresAt = exp
		mustCreate(t, st, s)
	}
	keep := newSession("mass", "p", "u0", time.Hour)
	mustCreate(t, st, keep)
	before, _ := rdb.ZCard(ctx, tenantKeys("mass").all()).Result()
	time.Sleep(time.Until(exp) + 300*time.Millisecond)
	res, err := st.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k := tenantKeys("mass")
	for _, key := range []string{k.all(), k.device("desktop")} {
		if n, _ := rdb.ZCard(ctx, key).Result(); n != 1 {
			t.Errorf("%s has %d members after the sweep, want 1", key, n)
		}
	}
	for _, p := range []string{"", "p"} {
		if n := len(viewOf(t, st, rdb, p)); n != 1 {
			t.Errorf("view %q has %d members after the sweep, want 1", p, n)
		}
	}
	if n, _ := rdb.ZCard(ctx, k.users()).Result(); n != 1 {
		t.Errorf("users index has %d members, want 1", n)
	}
	// The tenant index and the device index each drop 200; a view shard
	// that held only expired members has expired as a key.
	if before != 201 || res.Pruned < 200*2 {
		t.Errorf("before %d members, pruned %d; want 201 and >= 400", before, res.Pruned)
	}
	// The sweep deletes the index of a user whose sessions all expired.
	if n, _ := rdb.Exists(ctx, k.user("u5")).Result(); n != 0 {
		t.Error("user index of an expired user left after the sweep")
	}
}

// TestRunSweeperStops: the background sweep runs and ends with its context.
func TestRunSweeperStops(t *testing.T) {
	rdb := srv.NewClient(t)
	st := New(rdb, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	runs := make(chan error, 10)
	done := make(chan struct{})
	go func() {
		st.RunSweeper(ctx, 20*time.Millisecond, func(_ SweepResult, err error) { runs <- err })
		close(done)
	}()
	for i := 0; i < 2; i++ {
		if err := <-runs; err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	<-done
}

// TestSweepLockSharesWork: two instances sweeping the same Redis at once do
// each tenant once between them; a sweep after the lock period does it again.
func TestSweepLockSharesWork(t *testing.T) {
	rdb := srv.NewClient(t)
	ctx := context.Background()
	a := New(rdb, Options{SweepLock: 300 * time.Millisecond})
	b := New(rdb, Options{SweepLock: 300 * time.Millisecond})
	for i := 0; i < 20; i++ {
		mustCreate(t, a, newSession("lock-"+itoa(int64(i)), "p", "u", time.Hour))
	}
	var ra, rb SweepResult
	var ea, eb error
	done := make(chan struct{})
	go func() { ra, ea = a.Sweep(ctx); close(done) }()
	rb, eb = b.Sweep(ctx)
	<-done
	if ea != nil || eb != nil {
		t.Fatal(ea, eb)
	}
	if ra.Tenants+rb.Tenants != 20 || ra.Skipped+rb.Skipped != 20 {
		t.Errorf("swept %d+%d, skipped %d+%d; want 20 tenants swept once in all, 20 skipped",
			ra.Tenants, rb.Tenants, ra.Skipped, rb.Skipped)
	}
	time.Sleep(400 * time.Millisecond)
	again, err := b.Sweep(ctx)
	if err != nil || again.Tenants != 20 {
		t.Errorf("after the lock period: swept %d, %v; want 20", again.Tenants, err)
	}
}

// TestMassExpiryReturnsMemory: after a mass expiry and a sweep, the indexes
// are empty and Redis gives the memory back (within allocator noise).
func TestMassExpiryReturnsMemory(t *testing.T) {
	// Its own redis-server, so that the memory figures are not shared.
	red := testredis.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: red.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	st := New(rdb, Options{})
	used := func() int64 {
		info, _ := rdb.Info(ctx, "memory").Result()
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
				return atoi(v)
			}
		}
		t.Fatal("no used_memory")
		return 0
	}
	base := used()
	const n = 3000
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				s := newSession("mass-"+itoa(int64(i%7)), "p", "u"+itoa(int64(i%300)), 1500*time.Millisecond)
				if err := st.Create(ctx, s); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	peak := used()
	time.Sleep(2 * time.Second)
	// Let Redis's active expiry catch up with every key that expires with
	// the sessions (hashes, pointers, indexes, membership sets): it samples
	// keys, so thousands take a few cycles, more on a loaded machine.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		left := 0
		for _, pattern := range []string{"s:*", "sid:*", "ix:*", "ut:*", "ob:*"} {
			keys, _ := rdb.Keys(ctx, pattern).Result()
			left += len(keys)
		}
		if left == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := st.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 7; i++ {
		if c, _ := rdb.ZCard(ctx, tenantKeys("mass-"+itoa(int64(i))).all()).Result(); c != 0 {
			t.Errorf("tenant %d index keeps %d members", i, c)
		}
	}
	after := used()
	t.Logf("used_memory: base %d, with %d sessions %d (+%d), after expiry and sweep %d (+%d)", base, n, peak, peak-base, after, after-base)
	// What stays: hourly counters, membership sets, and allocator slack.
	if after-base > (peak-base)*3/10 {
		t.Errorf("memory did not come back: %d bytes above the base, %d at the peak", after-base, peak-base)
	}
}
