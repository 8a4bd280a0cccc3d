package testtopology

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testproc"
)

// Sentinel layout and timings.
const (
	// MasterName is the name the sentinels monitor the master under.
	MasterName       = "mymaster"
	SentinelReplicas = 2
	SentinelCount    = 3
	SentinelQuorum   = 2
	// DownAfter is down-after-milliseconds. At 1s, the sentinels' ping
	// period, a sentinel now and then judged the master a failover had just
	// promoted down as well (+sdown 1s after +switch-master), and a second
	// failover followed; at 2s that was not seen.
	DownAfter       = 2 * time.Second
	FailoverTimeout = 5 * time.Second
	// TiltPeriod is how long a sentinel stays in TILT mode (set with
	// SENTINEL DEBUG; the default is 30s).
	TiltPeriod        = 5 * time.Second
	sentinelReadyWait = 20 * time.Second
	failoverWait      = 30 * time.Second
)

// Sentinel is a master with 2 replicas (redis-server --replicaof) watched by
// 3 redis-sentinel processes, all on 127.0.0.1. Its methods are safe for
// concurrent use.
type Sentinel struct {
	g         *group
	servers   []*proc // servers[0] started as the master
	sentinels []*proc
}

// StartSentinel starts the topology for the test and stops it in
// tb.Cleanup. It calls tb.Fatalf when a program is missing or the sentinels
// do not see the master and both replicas in time.
func StartSentinel(tb testing.TB) *Sentinel {
	tb.Helper()
	return testproc.ForTest(tb, StartSentinelMain)
}

// StartSentinelMain is StartSentinel for TestMain: it returns errors, and
// the caller must call Stop.
func StartSentinelMain() (*Sentinel, error) {
	return start("redis-sentinel", SentinelInstallHint, "testtopology-sentinel-", startSentinel)
}

// startSentinel starts the master, its replicas and the sentinels in g.
func startSentinel(g *group, server, sentinelBin string) (*Sentinel, error) {
	s, dir := &Sentinel{g: g}, g.dir
	master, err := g.launch("master", 1, func(ports []int) (string, []string, error) {
		args, err := serverArgs(dir, ports[0])
		return server, args, err
	})
	if err != nil {
		return nil, err
	}
	s.servers = append(s.servers, master)
	for i := range SentinelReplicas {
		r, err := g.launch("replica "+strconv.Itoa(i), 1, func(ports []int) (string, []string, error) {
			args, err := serverArgs(dir, ports[0], "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
			return server, args, err
		})
		if err != nil {
			return nil, err
		}
		s.servers = append(s.servers, r)
	}
	ctx := context.Background()
	// The sentinels learn the replicas from the master's INFO, which they
	// read when they connect and then every 10s: start them once both
	// replicas are online, or startup takes 10s longer.
	if err := poll(ctx, sentinelReadyWait, func(ctx context.Context) error {
		return replicasOnline(ctx, master, SentinelReplicas)
	}); err != nil {
		return nil, fmt.Errorf("testtopology: replicas not in sync within %s: %w\n%s", sentinelReadyWait, err, outputs(s.servers))
	}
	for i := range SentinelCount {
		sp, err := g.launch("sentinel "+strconv.Itoa(i), 1, func(ports []int) (string, []string, error) {
			d, err := nodeDir(dir, ports[0])
			if err != nil {
				return "", nil, err
			}
			// Sentinel rewrites its configuration file: one each.
			conf := filepath.Join(d, "sentinel.conf")
			body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n"+
				"sentinel monitor %s 127.0.0.1 %d %d\n"+
				"sentinel down-after-milliseconds %s %d\n"+
				"sentinel failover-timeout %s %d\n"+
				"sentinel parallel-syncs %s 1\n",
				ports[0], d, MasterName, master.port, SentinelQuorum,
				MasterName, DownAfter.Milliseconds(), MasterName, FailoverTimeout.Milliseconds(), MasterName)
			if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
				return "", nil, fmt.Errorf("testtopology: %w", err)
			}
			return sentinelBin, []string{conf}, nil
		})
		if err != nil {
			return nil, err
		}
		s.sentinels = append(s.sentinels, sp)
		// A sentinel whose timer stalls for more than 2s (a loaded CI
		// machine) enters TILT mode and will not fail over for 30s; 5s
		// bounds what such a stall costs a test.
		if err := sp.do(ctx, "SENTINEL", "DEBUG", "tilt-period", TiltPeriod.Milliseconds()).Err(); err != nil {
			return nil, fmt.Errorf("testtopology: %s: SENTINEL DEBUG tilt-period: %w", sp.addr, err)
		}
	}
	if err := poll(ctx, sentinelReadyWait, func(ctx context.Context) error {
		return s.watching(ctx, master.addr)
	}); err != nil {
		return nil, fmt.Errorf("testtopology: sentinels not ready within %s: %w\n%s", sentinelReadyWait, err, s.Output())
	}
	return s, nil
}

// replicasOnline checks that m is a master with at least n replicas online.
func replicasOnline(ctx context.Context, m *proc, n int) error {
	info, err := m.do(ctx, "INFO", "replication").Text()
	if err != nil {
		return fmt.Errorf("%s: INFO replication: %w", m.addr, err)
	}
	if !strings.Contains(info, "role:master") {
		return fmt.Errorf("%s is not a master", m.addr)
	}
	if got := strings.Count(info, ",state=online,"); got < n {
		return fmt.Errorf("%s has %d replicas online, want %d", m.addr, got, n)
	}
	return nil
}

// watching checks that every live sentinel is out of TILT mode, names
// masterAddr as the master, sees it up, sees every other live server as a healthy replica, and knows
// every other live sentinel (which a failover vote needs).
func (s *Sentinel) watching(ctx context.Context, masterAddr string) error {
	wantReplicas := 0
	for _, p := range s.servers {
		if p.alive() && p.addr != masterAddr {
			wantReplicas++
		}
	}
	wantSentinels := len(s.liveSentinels()) - 1
	for _, sp := range s.liveSentinels() {
		info, err := sp.do(ctx, "INFO", "sentinel").Text()
		if err != nil {
			return fmt.Errorf("%s: INFO sentinel: %w", sp.addr, err)
		}
		if !strings.Contains(info, "sentinel_tilt:0") {
			return fmt.Errorf("%s is in TILT mode (it stalled for more than 2s) and will not fail over until it leaves it", sp.addr)
		}
		m, err := kv(sp.do(ctx, "SENTINEL", "MASTER", MasterName).Slice())
		if err != nil {
			return fmt.Errorf("%s: SENTINEL MASTER: %w", sp.addr, err)
		}
		if addr := m["ip"] + ":" + m["port"]; addr != masterAddr || m["flags"] != "master" {
			return fmt.Errorf("%s: master is %s (flags %s), want %s up", sp.addr, addr, m["flags"], masterAddr)
		}
		if m["num-other-sentinels"] != strconv.Itoa(wantSentinels) {
			return fmt.Errorf("%s knows %s other sentinels, want %d", sp.addr, m["num-other-sentinels"], wantSentinels)
		}
		reps, err := sp.do(ctx, "SENTINEL", "REPLICAS", MasterName).Slice()
		if err != nil {
			return fmt.Errorf("%s: SENTINEL REPLICAS: %w", sp.addr, err)
		}
		healthy := 0
		for _, r := range reps {
			f, err := kv(r, nil)
			if err == nil && f["flags"] == "slave" && f["master-link-status"] == "ok" {
				healthy++
			}
		}
		if healthy < wantReplicas {
			return fmt.Errorf("%s sees %d healthy replicas, want %d", sp.addr, healthy, wantReplicas)
		}
	}
	return nil
}

// kv turns a RESP2 flat field/value array into a map.
func kv(v any, err error) (map[string]string, error) {
	if err != nil {
		return nil, err
	}
	arr, ok := v.([]any)
	if !ok || len(arr)%2 != 0 {
		return nil, fmt.Errorf("unexpected reply %v", v)
	}
	out := make(map[string]string, len(arr)/2)
	for i := 0; i+1 < len(arr); i += 2 {
		k, _ := arr[i].(string)
		val, _ := arr[i+1].(string)
		out[k] = val
	}
	return out, nil
}

// SentinelAddrs are the "127.0.0.1:port" of the three sentinels.
func (s *Sentinel) SentinelAddrs() []string { return addrs(s.sentinels) }

// MasterName is the name the sentinels monitor the master under.
func (s *Sentinel) MasterName() string { return MasterName }

// MasterAddr asks a live sentinel where the master is.
func (s *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	var lastErr error = errors.New("no live sentinel")
	for _, sp := range s.liveSentinels() {
		a, err := sp.do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MasterName).StringSlice()
		if err != nil || len(a) != 2 {
			lastErr = fmt.Errorf("%s: SENTINEL GET-MASTER-ADDR-BY-NAME: %v %v", sp.addr, a, err)
			continue
		}
		return a[0] + ":" + a[1], nil
	}
	return "", fmt.Errorf("testtopology: %w", lastErr)
}

// ReplicaAddrs are the addresses of the live servers that are not the
// master.
func (s *Sentinel) ReplicaAddrs(ctx context.Context) ([]string, error) {
	m, err := s.MasterAddr(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range s.servers {
		if p.alive() && p.addr != m {
			out = append(out, p.addr)
		}
	}
	return out, nil
}

// Client returns a new failover client of the topology; the caller closes it.
func (s *Sentinel) Client() *redis.Client {
	return redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: MasterName, SentinelAddrs: s.SentinelAddrs(),
		DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
	})
}

// NewClient flushes the master and returns a new failover client, closed
// when the test ends. Tests that share the topology must not run in parallel.
func (s *Sentinel) NewClient(tb testing.TB) *redis.Client {
	tb.Helper()
	return newClient(tb, s.Flush, s.Client)
}

// Flush empties the master (FLUSHALL) and waits until its replicas
// acknowledged it.
func (s *Sentinel) Flush(ctx context.Context) error {
	addr, err := s.MasterAddr(ctx)
	if err != nil {
		return fmt.Errorf("testtopology: flush: %w", err)
	}
	m := s.byAddr(addr)
	if m == nil || !m.alive() {
		return fmt.Errorf("testtopology: flush: the sentinels name %s, not a live server of this topology", addr)
	}
	return flushMaster(ctx, m)
}

// KillMaster SIGKILLs the current master and returns its address. The
// sentinels fail over a little after DownAfter; WaitFailover waits for that.
func (s *Sentinel) KillMaster() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr, err := s.MasterAddr(ctx)
	if err != nil {
		return "", err
	}
	m := s.byAddr(addr)
	if m == nil {
		return "", fmt.Errorf("testtopology: the sentinels name %s, not a server of this topology", addr)
	}
	return addr, m.stop()
}

// WaitFailover waits (at most 30s) until every live sentinel names a live
// master other than old, that master says it is one, and the sentinels see
// the remaining live servers as its healthy replicas. It returns the new
// master's address.
func (s *Sentinel) WaitFailover(ctx context.Context, old string) (string, error) {
	var now string
	err := poll(ctx, failoverWait, func(ctx context.Context) error {
		addr, err := s.MasterAddr(ctx)
		if err != nil {
			return err
		}
		if addr == old {
			return fmt.Errorf("the sentinels still name %s", old)
		}
		m := s.byAddr(addr)
		if m == nil || !m.alive() {
			return fmt.Errorf("the sentinels name %s, not a live server", addr)
		}
		live := 0
		for _, p := range s.servers {
			if p.alive() && p != m {
				live++
			}
		}
		if err := replicasOnline(ctx, m, live); err != nil {
			return err
		}
		if err := s.watching(ctx, addr); err != nil {
			return err
		}
		now = addr
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("testtopology: no failover from %s within %s: %w\n%s", old, failoverWait, err, s.Output())
	}
	return now, nil
}

// Output is the tail of every process's log, for failure messages.
func (s *Sentinel) Output() string { return s.g.output() }

// Stop kills every process and removes the topology's directory. It is
// idempotent and safe after KillMaster.
func (s *Sentinel) Stop() error {
	return s.g.stop()
}

func (s *Sentinel) liveSentinels() []*proc { return live(s.sentinels) }

func (s *Sentinel) byAddr(addr string) *proc { return byAddr(s.servers, addr) }
