package testtopology

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testproc"
)

// Cluster layout and timings.
const (
	ClusterMasters  = 3
	ClusterReplicas = 1 // per master
	// ClusterNodeTimeout is --cluster-node-timeout: how long a master may be
	// unreachable before its replica takes over.
	ClusterNodeTimeout = 2 * time.Second

	clusterCreateTimeout = 30 * time.Second
	clusterReadyTimeout  = 20 * time.Second
	clusterHealTimeout   = 30 * time.Second
)

// Cluster is a Redis Cluster of 3 masters and 3 replicas, each a
// redis-server on 127.0.0.1, created with redis-cli --cluster create.
// Its methods are safe for concurrent use.
type Cluster struct {
	g     *group
	nodes []*proc // in start order; the first 3 were made masters
}

// StartCluster starts a cluster for the test and stops it in tb.Cleanup. It
// calls tb.Fatalf when a program is missing or the cluster does not come up.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	return testproc.ForTest(tb, StartClusterMain)
}

// StartClusterMain is StartCluster for TestMain: it returns errors, and the
// caller must call Stop.
func StartClusterMain() (*Cluster, error) {
	return start("redis-cli", CLIInstallHint, "testtopology-cluster-", func(g *group, server, cli string) (*Cluster, error) {
		for i := range ClusterMasters * (1 + ClusterReplicas) {
			_, err := g.launch("cluster node "+strconv.Itoa(i), 2, func(ports []int) (string, []string, error) {
				args, err := serverArgs(g.dir, ports[0],
					// The bus port is picked like the client port, rather than
					// the default port+10000, which may be taken or above 65535.
					"--cluster-port", strconv.Itoa(ports[1]),
					"--cluster-enabled", "yes",
					"--cluster-config-file", filepath.Join(g.dir, "nodes-"+strconv.Itoa(ports[0])+".conf"),
					"--cluster-node-timeout", strconv.FormatInt(ClusterNodeTimeout.Milliseconds(), 10),
				)
				return server, args, err
			})
			if err != nil {
				return nil, err
			}
		}
		c := &Cluster{g: g, nodes: g.procs}
		if err := c.create(cli); err != nil {
			return nil, err
		}
		if err := poll(context.Background(), clusterReadyTimeout, c.ready); err != nil {
			return nil, fmt.Errorf("testtopology: cluster not ready within %s: %w\n%s", clusterReadyTimeout, err, c.g.output())
		}
		return c, nil
	})
}

// create runs redis-cli --cluster create over the nodes.
func (c *Cluster) create(cli string) error {
	ctx, cancel := context.WithTimeout(context.Background(), clusterCreateTimeout)
	defer cancel()
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(ClusterReplicas), "--cluster-yes")
	out := testproc.NewTail(outputTail)
	if err := testproc.Run(ctx, testproc.Spec{Name: "redis-cli", Path: cli, Args: args, Output: out}); err != nil {
		return fmt.Errorf("testtopology: %v; output:\n%s\n%s", err, out, c.g.output())
	}
	return nil
}

// ready checks that every live node says cluster_state:ok with all 16384
// slots served, that 3 live masters serve them, and that every replica's
// link to its master is up (so WAIT and Flush can count on it).
func (c *Cluster) ready(ctx context.Context) error {
	live := c.live()
	for _, n := range live {
		info, err := n.do(ctx, "CLUSTER", "INFO").Text()
		if err != nil {
			return fmt.Errorf("%s: CLUSTER INFO: %w", n.addr, err)
		}
		if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
			return fmt.Errorf("%s: %s", n.addr, firstLines(info, 3))
		}
		repl, err := n.do(ctx, "INFO", "replication").Text()
		if err != nil {
			return fmt.Errorf("%s: INFO replication: %w", n.addr, err)
		}
		if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
			return fmt.Errorf("%s: replica link to its master is not up", n.addr)
		}
	}
	ms, err := c.masters(ctx)
	if err != nil {
		return err
	}
	if len(ms) != ClusterMasters {
		return fmt.Errorf("%d masters serve slots, want %d", len(ms), ClusterMasters)
	}
	for _, m := range ms {
		if !m.alive() {
			return fmt.Errorf("slots are still assigned to the dead master %s", m.addr)
		}
	}
	return nil
}

// Addrs are the "127.0.0.1:port" of all six nodes, as seeds for a client.
func (c *Cluster) Addrs() []string { return addrs(c.nodes) }

// Client returns a new cluster client of the topology; the caller closes it.
func (c *Cluster) Client() *redis.ClusterClient {
	return redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: addrs(c.live()), DialTimeout: 2 * time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
	})
}

// NewClient flushes the cluster and returns a new client of it, closed when
// the test ends. Tests that share a cluster must not run in parallel.
func (c *Cluster) NewClient(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	return newClient(tb, c.Flush, c.Client)
}

// Flush empties the cluster: FLUSHALL on every master, then WAIT until each
// master's replicas acknowledged it.
func (c *Cluster) Flush(ctx context.Context) error {
	ms, err := c.masters(ctx)
	if err != nil {
		return fmt.Errorf("testtopology: flush: %w", err)
	}
	for _, m := range ms {
		if err := flushMaster(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// flushMaster runs FLUSHALL on a master and waits for its connected replicas.
func flushMaster(ctx context.Context, m *proc) error {
	cl := m.client()
	defer cl.Close()
	if err := cl.FlushAll(ctx).Err(); err != nil {
		return fmt.Errorf("testtopology: FLUSHALL on %s: %w", m.addr, err)
	}
	role, err := cl.Do(ctx, "ROLE").Slice()
	if err != nil || len(role) < 3 {
		return fmt.Errorf("testtopology: ROLE on %s: %v %v", m.addr, role, err)
	}
	if r, _ := role[0].(string); r != "master" {
		return fmt.Errorf("testtopology: %s is a %s, not a master", m.addr, r)
	}
	replicas, _ := role[2].([]any)
	if len(replicas) == 0 {
		return nil
	}
	acked, err := cl.Wait(ctx, len(replicas), 2*time.Second).Result()
	if err != nil {
		return fmt.Errorf("testtopology: WAIT on %s: %w", m.addr, err)
	}
	if acked < int64(len(replicas)) {
		return fmt.Errorf("testtopology: FLUSHALL on %s: %d of %d replicas acknowledged within 2s", m.addr, acked, len(replicas))
	}
	return nil
}

// Masters returns the addresses of the masters serving slots, ordered by
// the first slot each serves.
func (c *Cluster) Masters(ctx context.Context) ([]string, error) {
	ms, err := c.masters(ctx)
	if err != nil {
		return nil, err
	}
	return addrs(ms), nil
}

// masters reads CLUSTER NODES from a live node and returns the processes
// of the masters that serve slots and are not suspected to have failed,
// ordered by first slot.
func (c *Cluster) masters(ctx context.Context) ([]*proc, error) {
	var lastErr error = errors.New("no live node")
	for _, n := range c.live() {
		txt, err := n.do(ctx, "CLUSTER", "NODES").Text()
		if err != nil {
			lastErr = fmt.Errorf("%s: CLUSTER NODES: %w", n.addr, err)
			continue
		}
		type master struct {
			p     *proc
			first int
		}
		var ms []master
		for _, line := range strings.Split(strings.TrimSpace(txt), "\n") {
			f := strings.Fields(line)
			if len(f) < 9 || !strings.Contains(f[2], "master") || strings.Contains(f[2], "fail") {
				continue
			}
			addr, _, _ := strings.Cut(f[1], "@")
			p := byAddr(c.nodes, addr)
			if p == nil {
				return nil, fmt.Errorf("CLUSTER NODES names %s, not a node of this topology", addr)
			}
			first, _, _ := strings.Cut(f[8], "-")
			v, err := strconv.Atoi(first)
			if err != nil {
				continue // an importing/migrating marker, not a slot range
			}
			ms = append(ms, master{p, v})
		}
		sort.Slice(ms, func(i, j int) bool { return ms[i].first < ms[j].first })
		out := make([]*proc, len(ms))
		for i, m := range ms {
			out[i] = m.p
		}
		return out, nil
	}
	return nil, lastErr
}

// KillMaster SIGKILLs the master serving the i-th slot range (0..2) and
// returns its address. Its replica takes over after the node timeout; call
// WaitHealthy to wait for that.
func (c *Cluster) KillMaster(i int) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ms, err := c.masters(ctx)
	if err != nil {
		return "", fmt.Errorf("testtopology: kill master %d: %w", i, err)
	}
	if i < 0 || i >= len(ms) {
		return "", fmt.Errorf("testtopology: kill master %d: there are %d masters", i, len(ms))
	}
	if err := ms[i].stop(); err != nil {
		return "", err
	}
	return ms[i].addr, nil
}

// WaitHealthy waits (at most 30s) until the live nodes say cluster_state:ok,
// every slot is served by a live master, and replicas are linked: after
// KillMaster, until a replica has taken over.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	if err := poll(ctx, clusterHealTimeout, c.ready); err != nil {
		return fmt.Errorf("testtopology: cluster not healthy within %s: %w\n%s", clusterHealTimeout, err, c.g.output())
	}
	return nil
}

// Output is the tail of every node's log, for failure messages.
func (c *Cluster) Output() string { return c.g.output() }

// Stop kills every node and removes the cluster's directory. It is
// idempotent and safe after KillMaster.
func (c *Cluster) Stop() error {
	return c.g.stop()
}

func (c *Cluster) live() []*proc { return live(c.nodes) }

func firstLines(s string, n int) string {
	lines := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.ReplaceAll(strings.Join(lines, ", "), "\r", "")
}
