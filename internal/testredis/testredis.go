// Package testredis starts real redis-server processes on loopback for tests.
//
// A missing redis-server is a test failure, never a skip: a suite that
// silently skips its storage tests passes while proving nothing. Each server
// runs in its own process group with persistence off, in a temporary
// directory, and is stopped when the test ends; on Linux it is also killed if
// the test binary dies without cleaning up.
package testredis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// InstallHint is part of every error about a missing redis-server.
const InstallHint = "install it with `apt-get install -y redis-server` (Debian/Ubuntu)"

// Databases is the number of logical databases each server has. NewClient
// hands out 1..Databases-1 and leaves 0 to callers of URL(0) or Addr.
const Databases = 64

const (
	readyTimeout = 5 * time.Second
	stopTimeout  = 5 * time.Second
	portAttempts = 5
)

// errPortTaken means another process bound the port between our probe and
// redis-server's bind; start retries with another port.
var errPortTaken = errors.New("port taken")

// Server is a running redis-server. Its methods are safe for concurrent use.
type Server struct {
	addr string
	port int
	cmd  *exec.Cmd
	out  *tail
	dir  string // removed by Stop when owned
	own  bool

	exited  chan struct{} // closed once the process has been reaped
	waitErr error         // set before exited is closed

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
	s, err := start(tb.TempDir(), false, extraArgs)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return s
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

func start(dir string, own bool, extraArgs []string) (*Server, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("testredis: redis-server not found in PATH: %s (%v)", InstallHint, err)
	}
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("testredis: pick a free port: %w", err)
		}
		s, err := launch(path, port, dir, own, extraArgs)
		if errors.Is(err, errPortTaken) && attempt < portAttempts {
			continue
		}
		return s, err
	}
}

// freePort asks the kernel for a free loopback port. Another process may take
// it before redis-server binds it; launch detects that and start retries.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func launch(path string, port int, dir string, own bool, extraArgs []string) (*Server, error) {
	args := []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--databases", strconv.Itoa(Databases),
		"--dir", dir,
	}
	args = append(args, extraArgs...)
	s := &Server{
		addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		port:   port,
		cmd:    exec.Command(path, args...),
		out:    &tail{max: 64 << 10},
		dir:    dir,
		own:    own,
		exited: make(chan struct{}),
	}
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	s.cmd.SysProcAttr = sysProcAttr()
	// Output is copied through pipes; never let a stray holder of the pipe
	// block Wait.
	s.cmd.WaitDelay = time.Second
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("testredis: start %s: %w", path, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(); err != nil {
		_ = s.kill()
		return nil, err
	}
	return s, nil
}

// waitReady polls PING until it answers, the process exits or readyTimeout
// passes.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	for {
		if Ping(s.addr, 500*time.Millisecond) == nil {
			return nil
		}
		select {
		case <-s.exited:
			out := s.out.String()
			if strings.Contains(out, "Address already in use") {
				return fmt.Errorf("testredis: %s: %w", s.addr, errPortTaken)
			}
			return fmt.Errorf("testredis: redis-server on %s exited before answering PING (%v); output:\n%s", s.addr, s.waitErr, out)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testredis: redis-server on %s did not answer PING within %s; output:\n%s", s.addr, readyTimeout, s.out.String())
		}
	}
}

// Ping speaks just enough RESP to see the server at addr answer +PONG (not
// -LOADING), without a client library's retries; timeout bounds the exchange.
func Ping(addr string, timeout time.Duration) error {
	conn, err := net.DialTimeout("tcp", addr, 250*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// Addr is the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.port }

// URL is a redis:// URL of logical database db, as SESSIOND_REDIS_URL takes it.
func (s *Server) URL(db int) string { return fmt.Sprintf("redis://%s/%d", s.addr, db) }

// Pid is the redis-server process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Output is the tail of what redis-server has logged, for failure messages.
func (s *Server) Output() string { return s.out.String() }

// Signal sends sig to the redis-server process, for fault tests:
// syscall.SIGSTOP freezes it (clients time out), syscall.SIGCONT resumes it,
// syscall.SIGKILL crashes it. Stop still cleans up after any of them.
func (s *Server) Signal(sig os.Signal) error {
	if err := s.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("testredis: signal %v to pid %d: %w", sig, s.Pid(), err)
	}
	return nil
}

// Stop terminates the server (SIGTERM, then SIGKILL after 5s), waits until
// the process is reaped, and removes the directory StartMain created. It is
// idempotent, and succeeds when the server already exited (a fault test may
// have killed it); it fails only when the process could not be ended.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.stopErr = s.kill()
		if s.own {
			if err := os.RemoveAll(s.dir); err != nil && s.stopErr == nil {
				s.stopErr = fmt.Errorf("testredis: %w", err)
			}
		}
	})
	return s.stopErr
}

func (s *Server) kill() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	// Signal the whole group, so that a child redis forked (BGSAVE with
	// --save enabled through extraArgs) goes too. SIGCONT follows SIGTERM
	// because a SIGSTOPped server acts on SIGTERM only once resumed.
	pgid := s.Pid()
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	_ = syscall.Kill(-pgid, syscall.SIGCONT)
	select {
	case <-s.exited:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-s.exited:
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("testredis: redis-server pid %d survived SIGKILL", pgid)
	}
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

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
