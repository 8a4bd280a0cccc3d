// Package testproc starts the real processes tests need (redis-server,
// redis-sentinel, nginx, sessiond, benchmark tools) on loopback: free ports,
// a process group of its own that the kernel kills with the test binary,
// the tail of its output for error messages, readiness probing, and stop.
// internal/testredis, internal/testtopology, e2e, faults and bench/suite
// all start their processes through it.
package testproc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrPortTaken means another process bound the port between the probe and
// the process's bind: Retry starts it again on other ports.
var ErrPortTaken = errors.New("port taken")

// Defaults of Spec.
const (
	DefaultReadyTimeout = 5 * time.Second
	DefaultTailSize     = 64 << 10
	stopTimeout         = 5 * time.Second
)

// LookPath finds a program, or says how to install it (hint).
func LookPath(name, hint string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found in PATH: %s (%v)", name, hint, err)
	}
	return p, nil
}

// FreePorts returns n distinct free loopback ports: the listeners are held
// open together, so that no two are the same. Another process may still
// take one before the caller binds it (see Retry).
func FreePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Addr is "127.0.0.1:port".
func Addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// Spec says how to start one process.
type Spec struct {
	Name string   // what the process is, for messages ("redis-server", "sentinel", …)
	Path string   // the program
	Args []string // its arguments
	Dir  string   // its working directory ("" = the test's)
	Env  []string // its environment (nil = the test's)
	// Addr is where it listens; Ready is called with it until it returns nil.
	Addr  string
	Ready func(addr string) error
	// ReadyTimeout bounds the wait (DefaultReadyTimeout when zero).
	ReadyTimeout time.Duration
	// TailSize bounds the output kept (DefaultTailSize when zero).
	TailSize int
	// Output, when set, receives all the output too (a log file).
	Output io.Writer
}

// Proc is a running process. Its methods are safe for concurrent use.
type Proc struct {
	Name string
	Addr string
	cmd  *exec.Cmd
	out  *Tail

	exited  chan struct{} // closed once reaped
	waitErr error         // set before exited is closed

	stopOnce sync.Once
	stopErr  error
}

// Start starts s's process in its own process group and waits until it is
// ready. When it exits first saying its address is in use, the error wraps
// ErrPortTaken.
func Start(s Spec) (*Proc, error) {
	size := s.TailSize
	if size <= 0 {
		size = DefaultTailSize
	}
	p := &Proc{Name: s.Name, Addr: s.Addr, cmd: exec.Command(s.Path, s.Args...), out: &Tail{max: size}, exited: make(chan struct{})}
	p.cmd.Dir, p.cmd.Env = s.Dir, s.Env
	var w io.Writer = p.out
	if s.Output != nil {
		w = io.MultiWriter(p.out, s.Output)
	}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	p.cmd.SysProcAttr = sysProcAttr()
	// Output is copied through pipes; never let a stray holder of the pipe
	// block Wait.
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", s.Path, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	if s.Ready == nil {
		return p, nil
	}
	timeout := s.ReadyTimeout
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	if err := p.waitReady(s.Ready, timeout); err != nil {
		_ = p.Kill()
		return nil, err
	}
	return p, nil
}

// Retry picks n free ports, builds a spec for them and starts it, again on
// fresh ports when one was taken meanwhile (at most attempts times).
func Retry(n, attempts int, spec func(ports []int) (Spec, error)) (*Proc, error) {
	for attempt := 1; ; attempt++ {
		ports, err := FreePorts(n)
		if err != nil {
			return nil, fmt.Errorf("pick free ports: %w", err)
		}
		s, err := spec(ports)
		if err != nil {
			return nil, err
		}
		p, err := Start(s)
		if errors.Is(err, ErrPortTaken) && attempt < attempts {
			continue
		}
		return p, err
	}
}

func (p *Proc) waitReady(ready func(string) error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready(p.Addr)
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			out := p.out.String()
			if strings.Contains(out, "Address already in use") || strings.Contains(out, "address already in use") {
				return fmt.Errorf("%s %s: %w", p.Name, p.Addr, ErrPortTaken)
			}
			return fmt.Errorf("%s on %s exited before it was ready (%v); output:\n%s", p.Name, p.Addr, p.waitErr, p.Output())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s on %s not ready within %s (%v); output:\n%s", p.Name, p.Addr, timeout, err, p.Output())
		}
	}
}

// Pid is the process id, which is also its process group's.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Output is the tail of what the process wrote to stdout and stderr.
func (p *Proc) Output() string { return p.out.String() }

// Exited is closed once the process has exited and been reaped.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// WaitErr is how the process ended; valid once Exited is closed.
func (p *Proc) WaitErr() error { return p.waitErr }

// Alive reports whether the process has not exited.
func (p *Proc) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Signal sends sig to the process alone: SIGSTOP freezes it, SIGCONT
// resumes it, SIGKILL crashes it; Stop and Kill still clean up after that.
func (p *Proc) Signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v to %s pid %d: %w", sig, p.Name, p.Pid(), err)
	}
	return nil
}

// Stop ends the process group gracefully: SIGTERM (and SIGCONT, as a
// stopped process acts on SIGTERM only once resumed), then SIGKILL after
// grace. It waits until the process is reaped, is idempotent, and succeeds
// when the process already exited.
func (p *Proc) Stop(grace time.Duration) error {
	p.stopOnce.Do(func() { p.stopErr = p.end(grace) })
	return p.stopErr
}

// Kill is Stop without grace: SIGKILL to the group at once, for processes
// with nothing to save. It also waits a moment for children the process
// forked (reaped by init, not by us), so that nothing outlives it.
func (p *Proc) Kill() error {
	p.stopOnce.Do(func() { p.stopErr = p.end(0) })
	return p.stopErr
}

func (p *Proc) end(grace time.Duration) error {
	if !p.Alive() {
		return nil
	}
	pgid := p.Pid()
	if grace > 0 {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		_ = syscall.Kill(-pgid, syscall.SIGCONT)
		select {
		case <-p.exited:
			return nil
		case <-time.After(grace):
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		return fmt.Errorf("%s pid %d survived SIGKILL for %s", p.Name, pgid, stopTimeout)
	}
	deadline := time.Now().Add(2 * time.Second)
	for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// PingRESP speaks just enough RESP to see the server at addr answer +PONG
// (not -LOADING), without a client library's retries; timeout bounds the
// exchange. It is the readiness probe of redis-server and redis-sentinel.
func PingRESP(addr string, timeout time.Duration) error {
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

// RedisReady is the readiness probe of a Redis process.
func RedisReady(addr string) error { return PingRESP(addr, 500*time.Millisecond) }

// TCPReady is a readiness probe that accepts any listener.
func TCPReady(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 250*time.Millisecond)
	if err != nil {
		return err
	}
	return c.Close()
}

// Tail keeps the last bytes written to it, up to its size.
type Tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

// NewTail keeps at most max bytes.
func NewTail(max int) *Tail { return &Tail{max: max} }

// Write keeps p, dropping the oldest bytes over the size.
func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String is what is kept.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// Last is the last n bytes of s, marked when cut.
func Last(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
