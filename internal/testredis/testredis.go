// Package testredis starts real redis-server processes on loopback for tests.
//
// A missing redis-server is a test failure, never a skip: a suite that
// silently skips its storage tests passes while proving nothing. Each server
// runs in its own process group with persistence off, in a temporary
// directory, and is stopped when the test ends; on Linux it is also killed if
// the test binary dies without cleaning up.
package testredis

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testproc"
)

// InstallHint is part of every error about a missing redis-server.
const InstallHint = "install it with `apt-get install -y redis-server` (Debian/Ubuntu)"

// Databases is the number of logical databases each server has. NewClient
// hands out 1..Databases-1 and leaves 0 to callers of URL(0) or Addr.
const Databases = 64

const stopGrace = 5 * time.Second

// Server is a running redis-server. Its methods are safe for concurrent use.
type Server struct {
	addr string
	port int
	proc *testproc.Proc
	dir  string // removed by Stop when owned
	own  bool

	stopOnce sync.Once
	stopErr  error

	nextDB atomic.Uint32
}

// Start runs a redis-server for the test and stops it in tb.Cleanup.
// extraArgs are appended to the command line as "--name", "value" pairs
// (for example "--maxmemory", "10mb"), after the defaults
// --port P --bind 127.0.0.1 --save "" --appendonly no --databases 64
// --dir <tb.TempDir()>. It calls tb.Fatalf when redis-server is missing or
// does not answer PING within 5s.
func Start(tb testing.TB, extraArgs ...string) *Server {
	tb.Helper()
	return testproc.ForTest(tb, func() (*Server, error) { return start(tb.TempDir(), false, extraArgs) })
}

// StartMain is Start for TestMain, where there is no testing.TB: it returns
// errors instead of failing, and the caller must call Stop before os.Exit.
//
//	func TestMain(m *testing.M) {
//		srv, err := testredis.StartMain()
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		code := m.Run()
//		srv.Stop()
//		os.Exit(code)
//	}
func StartMain(extraArgs ...string) (*Server, error) {
	dir, err := os.MkdirTemp("", "testredis-")
	if err != nil {
		return nil, fmt.Errorf("testredis: %w", err)
	}
	s, err := start(dir, true, extraArgs)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// RunMain is the body of a TestMain whose tests share one server: it starts
// the server, hands it to share (which keeps it in a package variable), runs
// the tests and stops the server. It returns the code for os.Exit: 1 when the
// server did not start, else m.Run's.
func RunMain(m *testing.M, share func(*Server), extraArgs ...string) int {
	srv, err := StartMain(extraArgs...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	share(srv)
	code := m.Run()
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return code
}

func start(dir string, own bool, extraArgs []string) (*Server, error) {
	path, err := testproc.LookPath("redis-server", InstallHint)
	if err != nil {
		return nil, fmt.Errorf("testredis: %w", err)
	}
	var port int
	p, err := testproc.Retry(context.Background(), 1, func(ports []int) (testproc.Spec, error) {
		port = ports[0]
		args := []string{
			"--port", strconv.Itoa(port),
			"--bind", "127.0.0.1",
			"--save", "",
			"--appendonly", "no",
			"--databases", strconv.Itoa(Databases),
			"--dir", dir,
		}
		return testproc.Spec{
			Name: "redis-server", Path: path, Args: append(args, extraArgs...),
			Addr: testproc.Addr(port), Ready: testproc.RedisReady,
		}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("testredis: %w", err)
	}
	return &Server{addr: p.Addr, port: port, proc: p, dir: dir, own: own}, nil
}

// Ping speaks just enough RESP to see the server at addr answer +PONG (not
// -LOADING), without a client library's retries; timeout bounds the exchange.
func Ping(addr string, timeout time.Duration) error { return testproc.PingRESP(addr, timeout) }

// Addr is the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.port }

// URL is a redis:// URL of logical database db, as SESSIOND_REDIS_URL takes it.
func (s *Server) URL(db int) string { return fmt.Sprintf("redis://%s/%d", s.addr, db) }

// Pid is the redis-server process id.
func (s *Server) Pid() int { return s.proc.Pid() }

// Output is the tail of what redis-server has logged, for failure messages.
func (s *Server) Output() string { return s.proc.Output() }

// Signal sends sig to the redis-server process, for fault tests:
// syscall.SIGSTOP freezes it (clients time out), syscall.SIGCONT resumes it,
// syscall.SIGKILL crashes it. Stop still cleans up after any of them.
func (s *Server) Signal(sig os.Signal) error {
	if err := s.proc.Signal(sig); err != nil {
		return fmt.Errorf("testredis: %w", err)
	}
	return nil
}

// Stop terminates the server (SIGTERM, then SIGKILL after 5s), waits until
// the process is reaped, and removes the directory StartMain created. It is
// idempotent, and succeeds when the server already exited (a fault test may
// have killed it); it fails only when the process could not be ended.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if err := s.proc.Stop(stopGrace); err != nil {
			s.stopErr = fmt.Errorf("testredis: %w", err)
		}
		if s.own {
			if err := os.RemoveAll(s.dir); err != nil && s.stopErr == nil {
				s.stopErr = fmt.Errorf("testredis: %w", err)
			}
		}
	})
	return s.stopErr
}

// NewClient returns a client of a database no other NewClient caller of this
// server is using (1..63, wrapping around after 63 calls), flushed first, and
// closed when the test ends.
func (s *Server) NewClient(tb testing.TB) *redis.Client {
	tb.Helper()
	n := s.nextDB.Add(1)
	db := int((n-1)%(Databases-1)) + 1
	c := redis.NewClient(&redis.Options{Addr: s.addr, DB: db})
	tb.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.FlushDB(ctx).Err(); err != nil {
		tb.Fatalf("testredis: FLUSHDB on %s db %d: %v", s.addr, db, err)
	}
	return c
}
