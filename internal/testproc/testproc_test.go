package testproc_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/testproc"
)

func TestFreePortsDistinct(t *testing.T) {
	ports, err := testproc.FreePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d twice in %v", p, ports)
		}
		seen[p] = true
	}
	addrs, err := testproc.FreeAddrs(2)
	if err != nil || len(addrs) != 2 || !strings.HasPrefix(addrs[0], "127.0.0.1:") {
		t.Errorf("FreeAddrs(2) = %v, %v; want two loopback addresses", addrs, err)
	}
}

// mustShell starts sh -c script, ready once ready accepts it.
func mustShell(tb testing.TB, script string) *testproc.Proc {
	tb.Helper()
	sh, err := testproc.LookPath("sh", "a POSIX shell")
	if err != nil {
		tb.Fatal(err)
	}
	p, err := testproc.Start(context.Background(), testproc.Spec{Name: "sh", Path: sh, Args: []string{"-c", script}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Kill() })
	return p
}

// TestStopEndsGroup: Stop ends the process and what it forked, and is
// idempotent.
func TestStopEndsGroup(t *testing.T) {
	p := mustShell(t, "sleep 60 & sleep 60")
	if !p.Alive() {
		t.Fatal("not alive after Start")
	}
	if err := p.Stop(time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := p.Stop(time.Second); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if p.Alive() {
		t.Error("alive after Stop")
	}
	if err := syscall.Kill(-p.Pid(), 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d: kill 0 = %v, want ESRCH", p.Pid(), err)
	}
}

func TestOutputTail(t *testing.T) {
	var all bytes.Buffer
	sh, _ := testproc.LookPath("sh", "a POSIX shell")
	err := testproc.Run(context.Background(), testproc.Spec{Path: sh, Args: []string{"-c", "echo out; echo err >&2"}, Output: &all})
	if err != nil {
		t.Fatal(err)
	}
	if got := all.String(); !strings.Contains(got, "out\n") || !strings.Contains(got, "err\n") {
		t.Errorf("output %q, want stdout and stderr", got)
	}
	tail := testproc.NewTail(4)
	_, _ = tail.Write([]byte("abcdef"))
	if got := tail.String(); got != "cdef" {
		t.Errorf("tail %q, want cdef", got)
	}
	if got := testproc.Last("abcdef", 2); got != "…ef" {
		t.Errorf("Last = %q, want …ef", got)
	}
}

func TestRunKilledWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	sh, _ := testproc.LookPath("sh", "a POSIX shell")
	err := testproc.Run(ctx, testproc.Spec{Path: sh, Args: []string{"-c", "sleep 60"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}
}

// TestReadiness: Start waits for Ready, and says so when the process
// exits first or is not ready in time.
func TestReadiness(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sh, _ := testproc.LookPath("sh", "a POSIX shell")
	for _, tc := range []struct {
		name, script, addr string
		want               string
	}{
		{"ready", "sleep 60", l.Addr().String(), ""},
		{"exits", "echo bye; exit 3", "127.0.0.1:1", "exited before it was ready"},
		{"port taken", "echo 'Address already in use'; exit 1", "127.0.0.1:1", testproc.ErrPortTaken.Error()},
		{"too slow", "sleep 60", "127.0.0.1:1", "not ready within"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := testproc.Start(context.Background(), testproc.Spec{
				Name: "sh", Path: sh, Args: []string{"-c", tc.script},
				Addr: tc.addr, Ready: testproc.TCPReady, ReadyTimeout: 300 * time.Millisecond,
			})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want ready", err)
				}
				_ = p.Kill()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestRecord(t *testing.T) {
	fatal, skipped := testproc.Record(t, func(tb testing.TB) { tb.Fatalf("no %s", "x") })
	if fatal != "no x" || skipped {
		t.Errorf("got fatal %q skipped %v, want %q and false", fatal, skipped, "no x")
	}
	_, skipped = testproc.Record(t, func(tb testing.TB) { tb.Skip("later") })
	if !skipped {
		t.Error("Skip not recorded")
	}
}

type stopper struct{ stopped bool }

func (s *stopper) Stop() error { s.stopped = true; return nil }

func TestForTest(t *testing.T) {
	s := &stopper{}
	t.Run("inner", func(t *testing.T) {
		if got := testproc.ForTest(t, func() (*stopper, error) { return s, nil }); got != s {
			t.Errorf("got %p, want %p", got, s)
		}
	})
	if !s.stopped {
		t.Error("not stopped when the test ended")
	}
	fatal, _ := testproc.Record(t, func(tb testing.TB) {
		testproc.ForTest(tb, func() (*stopper, error) { return nil, errors.New("boom") })
	})
	if fatal != "boom" {
		t.Errorf("fatal %q, want boom", fatal)
	}
}
