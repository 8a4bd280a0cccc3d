package testtopology

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testredis"
)

// Install hints, part of every error about a missing program.
const (
	ServerInstallHint   = "install it with `apt-get install -y redis-server` (Debian/Ubuntu)"
	CLIInstallHint      = "install it with `apt-get install -y redis-tools` (Debian/Ubuntu)"
	SentinelInstallHint = "install it with `apt-get install -y redis-sentinel` (Debian/Ubuntu)"
)

const (
	readyTimeout = 5 * time.Second
	stopTimeout  = 5 * time.Second
	portAttempts = 5
	// outputTail is how much of a process's output an error quotes.
	outputTail = 4 << 10
)

// errPortTaken means another process bound one of our ports between the probe
// and the bind; the launch is retried on other ports.
var errPortTaken = errors.New("port taken")

// lookPath finds a program or explains how to install it.
func lookPath(name, hint string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("testtopology: %s not found in PATH: %s (%v)", name, hint, err)
	}
	return p, nil
}

// proc is one redis-server or redis-sentinel process on 127.0.0.1, in its
// own process group.
type proc struct {
	role string // "cluster node", "replica", "sentinel", ... for messages
	addr string
	port int
	cmd  *exec.Cmd
	out  *tail

	exited  chan struct{} // closed once reaped
	waitErr error         // set before exited is closed

	stopOnce sync.Once
	stopErr  error
}

// launchSpec builds a command line for the given free ports.
type launchSpec func(ports []int) (path string, args []string, err error)

// launch starts a process whose first port is its client port, and waits
// until it answers PING. It retries on fresh ports when one was taken.
func launch(role string, nports int, spec launchSpec) (*proc, error) {
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(nports)
		if err != nil {
			return nil, fmt.Errorf("testtopology: pick free ports: %w", err)
		}
		path, args, err := spec(ports)
		if err != nil {
			return nil, err
		}
		p, err := start(role, ports[0], path, args)
		if errors.Is(err, errPortTaken) && attempt < portAttempts {
			continue
		}
		return p, err
	}
}

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
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

func start(role string, port int, path string, args []string) (*proc, error) {
	p := &proc{
		role:   role,
		addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		port:   port,
		cmd:    exec.Command(path, args...),
		out:    &tail{max: 64 << 10},
		exited: make(chan struct{}),
	}
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	p.cmd.SysProcAttr = sysProcAttr()
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("testtopology: start %s: %w", path, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	if err := p.waitReady(); err != nil {
		_ = p.stop()
		return nil, err
	}
	return p, nil
}

func (p *proc) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	for {
		if testredis.Ping(p.addr, 500*time.Millisecond) == nil {
			return nil
		}
		select {
		case <-p.exited:
			out := p.out.String()
			if strings.Contains(out, "Address already in use") {
				return fmt.Errorf("testtopology: %s %s: %w", p.role, p.addr, errPortTaken)
			}
			return fmt.Errorf("testtopology: %s on %s exited before answering PING (%v); output:\n%s", p.role, p.addr, p.waitErr, lastBytes(out, outputTail))
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testtopology: %s on %s did not answer PING within %s; output:\n%s", p.role, p.addr, readyTimeout, p.output())
		}
	}
}

// alive reports whether the process has not exited.
func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// output is the tail of what the process logged.
func (p *proc) output() string { return lastBytes(p.out.String(), outputTail) }

// stop SIGKILLs the process group and waits until the process is reaped. A
// test topology has nothing to save, so there is no graceful stage.
func (p *proc) stop() error {
	p.stopOnce.Do(func() {
		if !p.alive() {
			return
		}
		pgid := p.pid()
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-p.exited:
		case <-time.After(stopTimeout):
			p.stopErr = fmt.Errorf("testtopology: %s pid %d survived SIGKILL for %s", p.role, pgid, stopTimeout)
			return
		}
		// A child the server forked (the RDB it streams to a replica) was
		// killed too, but is reaped by init, not by us: give that a moment,
		// so that nothing of the topology outlives Stop.
		deadline := time.Now().Add(2 * time.Second)
		for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	})
	return p.stopErr
}

// client is a plain client of this one process that neither retries nor
// follows cluster redirections: the topology code asks each node directly.
func (p *proc) client() *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: p.addr, MaxRetries: -1, DialTimeout: time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
		PoolSize: 2, Protocol: 2,
	})
}

// do runs one command on the process with its own short-lived connection.
func (p *proc) do(ctx context.Context, args ...any) *redis.Cmd {
	c := p.client()
	defer c.Close()
	return c.Do(ctx, args...)
}

// poll calls check every interval until it returns nil or timeout passes;
// the error then is check's last one.
func poll(ctx context.Context, timeout time.Duration, check func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stopAll stops every process and removes dir; it returns the first error.
func stopAll(procs []*proc, dir string) error {
	var first error
	for _, p := range procs {
		if p == nil {
			continue
		}
		if err := p.stop(); err != nil && first == nil {
			first = err
		}
	}
	if dir != "" {
		if err := os.RemoveAll(dir); err != nil && first == nil {
			first = fmt.Errorf("testtopology: %w", err)
		}
	}
	return first
}

// outputs formats the tails of several processes' output for an error.
func outputs(procs []*proc) string {
	var b strings.Builder
	for _, p := range procs {
		if p == nil {
			continue
		}
		fmt.Fprintf(&b, "--- %s %s (pid %d) ---\n%s\n", p.role, p.addr, p.pid(), p.output())
	}
	return b.String()
}

// tempRoot makes the topology's directory, on /dev/shm when it is there:
// sentinels and cluster nodes fsync their configuration on every change, and
// on a busy disk an fsync can stall a sentinel past 2s, which sends it into
// TILT mode (no failover for 30s).
func tempRoot(prefix string) (string, error) {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", prefix); err == nil {
			return d, nil
		}
	}
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", fmt.Errorf("testtopology: %w", err)
	}
	return d, nil
}

// nodeDir makes a directory of its own for one process: replicas write the
// RDB they receive into their working directory, and two of them must not
// share one.
func nodeDir(root string, port int) (string, error) {
	d := filepath.Join(root, strconv.Itoa(port))
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("testtopology: %w", err)
	}
	return d, nil
}

func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
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
