//go:build unix

package faults

import (
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/testredis"
)

// redisProc is a redis-server this package started itself, on a port and
// directory it chose: internal/testredis cannot restart a server on the same
// port and directory, which the AOF test needs.
type redisProc struct {
	addr    string
	cmd     *exec.Cmd
	out     *lockedBuf
	exited  chan struct{}
	waitErr error

	stopOnce sync.Once
}

// startRedisAt runs redis-server on 127.0.0.1:port with args, waits until it
// answers PING (at most 10s: loading an AOF comes first), and stops it at the
// end of the test.
func startRedisAt(tb testing.TB, port int, args ...string) *redisProc {
	tb.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatalf("redis-server not found: install it with `apt-get install -y redis-server`: %v", err)
	}
	full := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1"}, args...)
	p := &redisProc{
		addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		cmd:    exec.Command(path, full...),
		out:    &lockedBuf{},
		exited: make(chan struct{}),
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = sysProcAttr()
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start redis-server: %v", err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	tb.Cleanup(p.stop)
	deadline := time.Now().Add(10 * time.Second)
	for testredis.Ping(p.addr, 500*time.Millisecond) != nil {
		select {
		case <-p.exited:
			tb.Fatalf("redis-server on %s exited (%v); output:\n%s", p.addr, p.waitErr, p.out)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			tb.Fatalf("redis-server on %s did not answer PING within 10s; output:\n%s", p.addr, p.out)
		}
	}
	return p
}

// stop ends the server (SIGTERM, SIGKILL after 5s) and waits until it is
// reaped.
func (p *redisProc) stop() {
	p.stopOnce.Do(func() {
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		_ = syscall.Kill(-pgid, syscall.SIGCONT)
		select {
		case <-p.exited:
			return
		case <-time.After(5 * time.Second):
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	})
}

// lockedBuf collects a process's output.
type lockedBuf struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
