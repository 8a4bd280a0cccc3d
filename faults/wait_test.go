//go:build unix

package faults

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/redisstore"
)

// TestWaitShortfall revokes a session while the only replica is frozen, so
// that WAIT 1 times out. The revocation has happened on the primary: the
// answer is 503, and its pointer and event still follow (at once, or after
// one sweep from the batch's revocation record). It checks that with the
// default Redis timeout (2s, above the 500ms WAIT timeout) and with a Redis
// timeout equal to the WAIT timeout, where the WAIT shortfall is a read
// timeout and the script's reply is lost.
func TestWaitShortfall(t *testing.T) {
	master := testredis.Start(t, "--repl-diskless-sync-delay", "0")
	replica := testredis.Start(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.Port()))
	t.Cleanup(func() { _ = replica.Signal(syscall.SIGCONT) })
	raw := redis.NewClient(&redis.Options{Addr: master.Addr()})
	t.Cleanup(func() { _ = raw.Close() })
	synced := func() bool { return inSync(raw) }
	waitUntil(t, 10*time.Second, "replica in sync", synced)

	for _, c := range []struct {
		name    string
		timeout time.Duration
	}{
		{"RedisTimeout2s", 2 * time.Second},
		{"RedisTimeoutEqualsWaitTimeout", waitTimeout},
	} {
		t.Run(c.name, func(t *testing.T) {
			rdb := connect(t, redisstore.ConnectOptions{URL: master.URL(0), Timeout: c.timeout})
			r := newRig(t, rdb, rigConfig{events: true, waitReplicas: 1, waitTimeout: waitTimeout})
			warm := r.mustCreate(t, "TS", "u1", "", "")
			s := r.mustCreate(t, "TS", "u1", "", "")
			if res := r.revokeOne(warm); res.status != http.StatusNoContent {
				t.Fatalf("revoke with the replica up: %v", res)
			}

			if err := replica.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			res := r.revokeOne(s)
			if err := replica.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, 10*time.Second, "replica in sync again", synced)
			t.Logf("revoke with the replica frozen (Redis timeout %s, WAIT timeout %s): %v", c.timeout, waitTimeout, res)
			if res.status != http.StatusServiceUnavailable {
				t.Errorf("revoke without a replica acknowledgement: want 503, got %v", res)
			}
			if v := r.verify(s.Token); v.status != http.StatusUnauthorized {
				t.Fatalf("the revocation happened on the primary, yet verify answers %v", v)
			}
			atOnce, afterSweep := eventWritten(t, r, raw, s.ID)
			pointer := raw.Exists(context.Background(), "sid:{"+s.ID+"}").Val() == 1
			retry := r.revokeOne(s)
			t.Logf("after the shortfall: event written at once %v, after one sweep %v; id pointer left %v; a client's retry answers %d",
				atOnce, afterSweep, pointer, retry.status)
			if !afterSweep || pointer {
				t.Errorf("after a WAIT shortfall: revocation event written %v, id pointer deleted %v; want both", afterSweep, !pointer)
			}
		})
	}
}

// inSync writes through c and reports whether a replica acknowledged it
// within a second (a WAIT on a connection that never wrote answers at once).
func inSync(c *redis.Client) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Incr(ctx, "faults:sync").Err(); err != nil {
		return false
	}
	n, err := c.Wait(ctx, 1, time.Second).Result()
	return err == nil && n == 1
}

// TestRetryAfterShortfall is a revocation that a first sessiond instance
// could not get acknowledged by the replica (503), retried by the client on
// a second instance while the replica is still cut off. The retry's script
// finds nothing left to revoke; it must not answer 404 (gone) unless the
// deletion has reached a replica, since the primary may die next and the
// replica, which never got the revocation, be promoted. It holds because
// WAIT after a script that wrote nothing still waits for the primary's whole
// replication offset (Redis 7.0: a WAIT only on the connection's own writes
// would answer at once and let 404 through).
func TestRetryAfterShortfall(t *testing.T) {
	master := testredis.Start(t, "--repl-diskless-sync-delay", "0")
	link := startProxy(t, master.Addr())
	_, linkPort, _ := strings.Cut(link.addr(), ":")
	replica := testredis.Start(t, "--replicaof", "127.0.0.1", linkPort)
	raw := redis.NewClient(&redis.Options{Addr: master.Addr()})
	t.Cleanup(func() { _ = raw.Close() })
	waitUntil(t, 10*time.Second, "replica in sync", func() bool { return inSync(raw) })

	opts := rigConfig{events: true, waitReplicas: 1, waitTimeout: waitTimeout}
	a := newRig(t, connect(t, redisstore.ConnectOptions{URL: master.URL(0)}), opts)
	b := newRig(t, connect(t, redisstore.ConnectOptions{URL: master.URL(0)}), opts)
	s := a.mustCreate(t, "TR", "u1", "", "")
	b.mustCreate(t, "TR", "u2", "", "")
	if res := b.revokeOne(b.mustCreate(t, "TR", "u2", "", "")); res.status != http.StatusNoContent {
		t.Fatalf("revoke with the replica up: %v", res)
	}
	waitUntil(t, 10*time.Second, "replica in sync", func() bool { return inSync(raw) })

	link.partition()
	first := a.revokeOne(s)
	if first.status != http.StatusServiceUnavailable {
		t.Fatalf("revoke with the replica cut off: want 503, got %v", first)
	}
	retry := b.revokeOne(s)
	t.Logf("replica cut off: revoke on instance A %v; the client's retry on instance B %v", first, retry)

	// Fail over by hand: the primary dies, the replica takes over.
	if err := master.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	promoted := redis.NewClient(&redis.Options{Addr: replica.Addr()})
	t.Cleanup(func() { _ = promoted.Close() })
	if err := promoted.Do(context.Background(), "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatalf("promote the replica: %v", err)
	}
	c := newRig(t, connect(t, redisstore.ConnectOptions{URL: replica.URL(0)}), rigConfig{})
	after := c.verify(s.Token)
	t.Logf("verify on the promoted replica: %v", after)
	if after.status != http.StatusOK {
		t.Fatalf("the promoted replica never got the revocation, yet verify answers %v: the test did not cut the link", after)
	}
	if retry.status != http.StatusServiceUnavailable {
		t.Errorf("the retried revocation answered %v while no replica had it; the session came back after the failover", retry)
	}
}
