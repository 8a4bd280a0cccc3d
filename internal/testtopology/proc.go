package testtopology

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testproc"
)

// Install hints, part of every error about a missing program.
const (
	ServerInstallHint   = "install it with `apt-get install -y redis-server` (Debian/Ubuntu)"
	CLIInstallHint      = "install it with `apt-get install -y redis-tools` (Debian/Ubuntu)"
	SentinelInstallHint = "install it with `apt-get install -y redis-sentinel` (Debian/Ubuntu)"
)

// outputTail is how much of a process's output an error quotes.
const outputTail = 4 << 10

// lookPath finds a program or explains how to install it.
func lookPath(name, hint string) (string, error) {
	p, err := testproc.LookPath(name, hint)
	if err != nil {
		return "", fmt.Errorf("testtopology: %w", err)
	}
	return p, nil
}

// proc is one redis-server or redis-sentinel process on 127.0.0.1, in its
// own process group.
type proc struct {
	role string // "cluster node", "replica", "sentinel", ... for messages
	addr string
	port int
	p    *testproc.Proc
}

// group is one topology's processes and directory, stopped together once.
type group struct {
	dir   string
	procs []*proc // in start order

	stopOnce sync.Once
	stopErr  error
}

// start makes a topology: it finds redis-server and the topology's other
// program (with the hint that installs it), makes the topology's directory
// (see tempRoot), and has fill start the processes in a group there. When
// fill fails, what it started is stopped.
func start[T any](other, hint, prefix string, fill func(g *group, server, otherPath string) (T, error)) (T, error) {
	var zero T
	server, err := lookPath("redis-server", ServerInstallHint)
	if err != nil {
		return zero, err
	}
	otherPath, err := lookPath(other, hint)
	if err != nil {
		return zero, err
	}
	dir, err := tempRoot(prefix)
	if err != nil {
		return zero, err
	}
	g := &group{dir: dir}
	t, err := fill(g, server, otherPath)
	if err != nil {
		_ = g.stop()
		return zero, err
	}
	return t, nil
}

// launchSpec builds a command line for the given free ports.
type launchSpec func(ports []int) (path string, args []string, err error)

// launch starts a process of the group whose first port is its client
// port, and waits until it answers PING. It retries on fresh ports when one
// was taken.
func (g *group) launch(role string, nports int, spec launchSpec) (*proc, error) {
	var port int
	p, err := testproc.Retry(context.Background(), nports, func(ports []int) (testproc.Spec, error) {
		path, args, err := spec(ports)
		port = ports[0]
		return testproc.Spec{Name: role, Path: path, Args: args, Addr: testproc.Addr(port), Ready: testproc.RedisReady}, err
	})
	if err != nil {
		return nil, fmt.Errorf("testtopology: %w", err)
	}
	pr := &proc{role: role, addr: p.Addr, port: port, p: p}
	g.procs = append(g.procs, pr)
	return pr, nil
}

// stop kills every process, the last started first, and removes the
// directory; it returns the first error, and the same on later calls.
func (g *group) stop() error {
	g.stopOnce.Do(func() {
		for i := len(g.procs) - 1; i >= 0; i-- {
			if err := g.procs[i].stop(); err != nil && g.stopErr == nil {
				g.stopErr = err
			}
		}
		if err := os.RemoveAll(g.dir); err != nil && g.stopErr == nil {
			g.stopErr = fmt.Errorf("testtopology: %w", err)
		}
	})
	return g.stopErr
}

// output is the tail of every process's log, for failure messages.
func (g *group) output() string { return outputs(g.procs) }

// alive reports whether the process has not exited.
func (p *proc) alive() bool { return p.p.Alive() }

func (p *proc) pid() int { return p.p.Pid() }

// output is the tail of what the process logged.
func (p *proc) output() string { return testproc.Last(p.p.Output(), outputTail) }

// stop SIGKILLs the process group and waits until the process and what it
// forked are gone. A test topology has nothing to save, so there is no
// graceful stage.
func (p *proc) stop() error {
	if err := p.p.Kill(); err != nil {
		return fmt.Errorf("testtopology: %w", err)
	}
	return nil
}

// live are the processes of ps that have not exited.
func live(ps []*proc) []*proc {
	var out []*proc
	for _, p := range ps {
		if p.alive() {
			out = append(out, p)
		}
	}
	return out
}

// addrs are the addresses of ps.
func addrs(ps []*proc) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.addr
	}
	return out
}

// byAddr is the process of ps at addr, or nil.
func byAddr(ps []*proc, addr string) *proc {
	for _, p := range ps {
		if p.addr == addr {
			return p
		}
	}
	return nil
}

// newClient flushes the topology and returns a new client of it, closed
// when the test ends.
func newClient[C io.Closer](tb testing.TB, flush func(context.Context) error, client func() C) C {
	tb.Helper()
	if err := flush(context.Background()); err != nil {
		tb.Fatalf("%v", err)
	}
	c := client()
	tb.Cleanup(func() { _ = c.Close() })
	return c
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

// serverArgs is the command line of one redis-server of a topology on port:
// loopback only, no persistence, a directory of its own (nodeDir), then
// extra.
func serverArgs(root string, port int, extra ...string) ([]string, error) {
	d, err := nodeDir(root, port)
	if err != nil {
		return nil, err
	}
	return append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--appendonly", "no", "--save", "", "--dir", d,
		// A master otherwise waits 5s for more replicas before a full sync.
		"--repl-diskless-sync-delay", "0",
	}, extra...), nil
}
