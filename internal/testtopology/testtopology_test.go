package testtopology

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sessiond/sessiond/internal/testproc"
)

func TestRequested(t *testing.T) {
	for _, tc := range []struct {
		env               string
		cluster, sentinel bool
		err               bool
	}{
		{"", false, false, false},
		{"cluster", true, false, false},
		{"sentinel", false, true, false},
		{"cluster,sentinel", true, true, false},
		{" Sentinel , cluster ", true, true, false},
		{"cluster sentinel", true, true, false},
		{"clustre", false, false, true},
	} {
		t.Setenv(EnvVar, tc.env)
		c, s, err := Requested()
		if (err != nil) != tc.err || c != tc.cluster || s != tc.sentinel {
			t.Errorf("%s=%q: got cluster %v sentinel %v err %v", EnvVar, tc.env, c, s, err)
		}
	}
	t.Setenv(EnvVar, "")
	topo, err := StartRequested(nil)
	if err != nil || topo.Cluster != nil || topo.Sentinel != nil {
		t.Errorf("StartRequested with nothing requested: %+v, %v; want nothing started", topo, err)
	}
	if err := topo.Stop(); err != nil {
		t.Errorf("Stop of nothing: %v", err)
	}
	t.Setenv(EnvVar, "nope")
	if _, err := StartRequested(nil); err == nil || !strings.Contains(err.Error(), "unknown topology") {
		t.Errorf("StartRequested with an unknown topology: %v", err)
	}
}

// TestMissingPrograms: each missing program is an error naming the package
// that installs it, and StartCluster/StartSentinel fail the test rather
// than skip it.
func TestMissingPrograms(t *testing.T) {
	server, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found in PATH: %s", ServerInstallHint)
	}
	onlyServer := t.TempDir()
	if err := os.Symlink(server, filepath.Join(onlyServer, "redis-server")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		start      func() error
		want       string
	}{
		{"cluster without redis-server", t.TempDir(), func() error { _, err := StartClusterMain(); return err }, "redis-server not found in PATH: " + ServerInstallHint},
		{"cluster without redis-cli", onlyServer, func() error { _, err := StartClusterMain(); return err }, "redis-cli not found in PATH: " + CLIInstallHint},
		{"sentinel without redis-server", t.TempDir(), func() error { _, err := StartSentinelMain(); return err }, "redis-server not found in PATH: " + ServerInstallHint},
		{"sentinel without redis-sentinel", onlyServer, func() error { _, err := StartSentinelMain(); return err }, "redis-sentinel not found in PATH: " + SentinelInstallHint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", tc.path)
			err := tc.start()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if !strings.Contains(CLIInstallHint, "apt-get install -y redis-tools") {
		t.Errorf("CLIInstallHint %q does not name redis-tools", CLIInstallHint)
	}

	t.Setenv("PATH", onlyServer)
	for name, start := range map[string]func(testing.TB){
		"StartCluster":  func(tb testing.TB) { StartCluster(tb) },
		"StartSentinel": func(tb testing.TB) { StartSentinel(tb) },
	} {
		fatal, skipped := testproc.Record(t, start)
		if skipped || fatal == "" {
			t.Errorf("%s without its programs: skipped %v, fatal %q; want a failure", name, skipped, fatal)
		}
	}
}

// TestClusterLifecycle starts a cluster of its own, checks its shape and
// Flush, and that Stop leaves no process and no directory behind.
func TestClusterLifecycle(t *testing.T) {
	if c, _, _ := Requested(); !c {
		t.Skipf("set %s=cluster to test the cluster topology", EnvVar)
	}
	c, err := StartClusterMain()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	ctx := context.Background()
	masters, err := c.Masters(ctx)
	if err != nil || len(masters) != ClusterMasters {
		t.Fatalf("masters %v, %v; want %d", masters, err, ClusterMasters)
	}
	if len(c.Addrs()) != ClusterMasters*(1+ClusterReplicas) {
		t.Errorf("%d nodes, want %d", len(c.Addrs()), ClusterMasters*(1+ClusterReplicas))
	}
	cl := c.Client()
	defer cl.Close()
	for i := range 100 {
		if err := cl.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := cl.DBSize(ctx).Result(); err != nil || n != 100 {
		t.Errorf("DBSIZE %d, %v; want 100 over all masters", n, err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.nodes {
		if k, err := n.do(ctx, "DBSIZE").Int(); err != nil || k != 0 {
			t.Errorf("%s holds %d keys after Flush (%v), want 0 on masters and replicas", n.addr, k, err)
		}
	}
	assertStops(t, c.Stop, c.g)
}

// TestSentinelLifecycle starts the sentinel topology, checks that the
// failover client reaches the master and that Flush reaches the replicas,
// and that Stop leaves nothing behind.
func TestSentinelLifecycle(t *testing.T) {
	if _, s, _ := Requested(); !s {
		t.Skipf("set %s=sentinel to test the sentinel topology", EnvVar)
	}
	s, err := StartSentinelMain()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	ctx := context.Background()
	if len(s.SentinelAddrs()) != SentinelCount || s.MasterName() != MasterName {
		t.Errorf("sentinels %v master name %q", s.SentinelAddrs(), s.MasterName())
	}
	master, err := s.MasterAddr(ctx)
	if err != nil || master != s.servers[0].addr {
		t.Errorf("master %q, %v; want %s", master, err, s.servers[0].addr)
	}
	replicas, err := s.ReplicaAddrs(ctx)
	if err != nil || len(replicas) != SentinelReplicas {
		t.Errorf("replicas %v, %v; want %d", replicas, err, SentinelReplicas)
	}
	cl := s.Client()
	defer cl.Close()
	if err := cl.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range s.servers {
		if k, err := n.do(ctx, "DBSIZE").Int(); err != nil || k != 0 {
			t.Errorf("%s holds %d keys after Flush (%v), want 0", n.addr, k, err)
		}
	}
	assertStops(t, s.Stop, s.g)
}

func assertStops(t *testing.T, stop func() error, g *group) {
	t.Helper()
	if err := stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	for _, p := range g.procs {
		if err := syscall.Kill(-p.pid(), 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s pid %d: process group still there after Stop (kill 0: %v)", p.role, p.pid(), err)
		}
	}
	if _, err := os.Stat(g.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory %s still there after Stop (%v)", g.dir, err)
	}
}
