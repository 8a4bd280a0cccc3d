package testtopology

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

const (
	portAttempts = 5
	// outputTail is how much of a process's output an error quotes.
	outputTail = 4 << 10
)

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

// launchSpec builds a command line for the given free ports.
type launchSpec func(ports []int) (path string, args []string, err error)

// launch starts a process whose first port is its client port, and waits
// until it answers PING. It retries on fresh ports when one was taken.
func launch(role string, nports int, spec launchSpec) (*proc, error) {
	var port int
	p, err := testproc.Retry(nports, portAttempts, func(ports []int) (testproc.Spec, error) {
		path, args, err := spec(ports)
		port = ports[0]
		return testproc.Spec{Name: role, Path: path, Args: args, Addr: testproc.Addr(port), Ready: testproc.RedisReady}, err
	})
	if err != nil {
		return nil, fmt.Errorf("testtopology: %w", err)
	}
	return &proc{role: role, addr: p.Addr, port: port, p: p}, nil
}

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
