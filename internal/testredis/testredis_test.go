package testredis_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testproc"
	"github.com/sessiond/sessiond/internal/testredis"
)

func TestStartPing(t *testing.T) {
	s := testredis.Start(t)
	if want := fmt.Sprintf("127.0.0.1:%d", s.Port()); s.Addr() != want {
		t.Errorf("Addr() = %q, want %q", s.Addr(), want)
	}
	if want := fmt.Sprintf("redis://127.0.0.1:%d/7", s.Port()); s.URL(7) != want {
		t.Errorf("URL(7) = %q, want %q", s.URL(7), want)
	}
	if s.Pid() <= 0 {
		t.Errorf("Pid() = %d, want a process id", s.Pid())
	}

	opts, err := redis.ParseURL(s.URL(7))
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", s.URL(7), err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	if got, err := c.Ping(ctx).Result(); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v; want PONG", got, err)
	}
	cfg, err := c.ConfigGet(ctx, "*").Result()
	if err != nil {
		t.Fatalf("CONFIG GET: %v", err)
	}
	for k, want := range map[string]string{"bind": "127.0.0.1", "save": "", "appendonly": "no", "databases": "64"} {
		if cfg[k] != want {
			t.Errorf("CONFIG GET %s = %q, want %q", k, cfg[k], want)
		}
	}
}

func TestStartExtraArgs(t *testing.T) {
	s := testredis.Start(t, "--maxmemory", "10mb", "--maxmemory-policy", "noeviction")
	c := s.NewClient(t)
	got, err := c.ConfigGet(context.Background(), "maxmemory").Result()
	if err != nil {
		t.Fatalf("CONFIG GET maxmemory: %v", err)
	}
	if got["maxmemory"] != "10485760" {
		t.Errorf("maxmemory = %q, want 10485760", got["maxmemory"])
	}
}

func TestStartBadArgs(t *testing.T) {
	s, err := testredis.StartMain("--no-such-directive", "x")
	if err == nil {
		s.Stop()
		t.Fatal("StartMain with a bad directive succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "no-such-directive") {
		t.Errorf("got error %q, want it to say redis-server exited and quote its output", err)
	}
}

func TestNewClientIsolation(t *testing.T) {
	s := testredis.Start(t)
	ctx := context.Background()
	a, b := s.NewClient(t), s.NewClient(t)
	if a.Options().DB == b.Options().DB {
		t.Fatalf("both clients use db %d, want different databases", a.Options().DB)
	}
	if a.Options().DB == 0 || b.Options().DB == 0 {
		t.Errorf("got dbs %d and %d, want 0 left alone", a.Options().DB, b.Options().DB)
	}
	if err := a.Set(ctx, "k", "from-a", 0).Err(); err != nil {
		t.Fatalf("SET on a: %v", err)
	}
	if err := b.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("GET k on b: got %v, want redis.Nil", err)
	}
	if got, _ := a.Get(ctx, "k").Result(); got != "from-a" {
		t.Errorf("GET k on a = %q, want from-a", got)
	}
}

// TestNewClientWrapsAndFlushes uses all 63 databases, then checks that the
// next client reuses database 1 and finds it empty.
func TestNewClientWrapsAndFlushes(t *testing.T) {
	s := testredis.Start(t)
	ctx := context.Background()
	first := s.NewClient(t)
	if first.Options().DB != 1 {
		t.Fatalf("first client db = %d, want 1", first.Options().DB)
	}
	if err := first.Set(ctx, "stale", "1", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	seen := map[int]bool{1: true}
	for range testredis.Databases - 2 {
		c := s.NewClient(t)
		seen[c.Options().DB] = true
	}
	if len(seen) != testredis.Databases-1 {
		t.Errorf("got %d distinct databases, want %d", len(seen), testredis.Databases-1)
	}
	again := s.NewClient(t)
	if again.Options().DB != 1 {
		t.Fatalf("64th client db = %d, want 1 again", again.Options().DB)
	}
	if n, err := again.Exists(ctx, "stale").Result(); err != nil || n != 0 {
		t.Errorf("EXISTS stale after reuse = %d, %v; want 0 (flushed)", n, err)
	}
}

func TestStopLeavesNoProcess(t *testing.T) {
	s, err := testredis.StartMain()
	if err != nil {
		t.Fatal(err)
	}
	pid := s.Pid()
	if !alive(pid) {
		t.Fatalf("pid %d not running after StartMain", pid)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	assertGone(t, pid)
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v, want nil", err)
	}
}

// TestCleanupStops checks that Start's cleanup, not the caller, stops it.
func TestCleanupStops(t *testing.T) {
	var pid int
	t.Run("inner", func(t *testing.T) {
		pid = testredis.Start(t).Pid()
	})
	assertGone(t, pid)
}

func TestStopAfterSIGSTOP(t *testing.T) {
	s, err := testredis.StartMain()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), ReadTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err == nil {
		t.Error("PING on a stopped server succeeded, want a timeout")
	}
	pid := s.Pid()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	assertGone(t, pid)
}

func TestSignalResume(t *testing.T) {
	s := testredis.Start(t)
	c := s.NewClient(t)
	if err := s.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP: %v", err)
	}
	if err := s.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("SIGCONT: %v", err)
	}
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Errorf("PING after SIGCONT: %v", err)
	}
}

func TestStopAfterCrash(t *testing.T) {
	s, err := testredis.StartMain()
	if err != nil {
		t.Fatal(err)
	}
	pid := s.Pid()
	if err := s.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("Stop after a crash: %v, want nil", err)
	}
	assertGone(t, pid)
	if err := s.Signal(syscall.SIGCONT); err == nil {
		t.Error("Signal after Stop succeeded, want an error")
	}
}

func TestMissingRedisServer(t *testing.T) {
	t.Setenv("PATH", t.TempDir())

	_, err := testredis.StartMain()
	if err == nil {
		t.Fatal("StartMain without redis-server in PATH succeeded")
	}
	for _, want := range []string{"redis-server not found in PATH", testredis.InstallHint} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("StartMain error %q lacks %q", err, want)
		}
	}

	fatal, skipped := testproc.Record(t, func(tb testing.TB) { testredis.Start(tb) })
	if skipped {
		t.Error("Start skipped the test, want a failure")
	}
	if !strings.Contains(fatal, "redis-server not found in PATH: "+testredis.InstallHint) {
		t.Errorf("Start failed with %q, want the install hint", fatal)
	}
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// assertGone checks that neither the process nor its process group exists.
// The server was reaped by Stop, so its pid cannot be a zombie.
func assertGone(tb testing.TB, pid int) {
	tb.Helper()
	if alive(pid) {
		tb.Errorf("pid %d still running after Stop", pid)
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		tb.Errorf("process group %d: kill 0 = %v, want ESRCH", pid, err)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); runtime.GOOS == "linux" && err == nil {
		tb.Errorf("/proc/%d still exists after Stop", pid)
	}
}
