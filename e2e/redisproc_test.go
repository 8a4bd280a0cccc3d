package e2e

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testredis"
)

// redisProc is a redis-server that a test can stop and start again on the
// same port with the same data, which internal/testredis does not offer: a
// client that keeps its address (sessiond's go-redis pool) must find Redis
// back by itself.
type redisProc struct {
	t    *testing.T
	bin  string
	port int
	dir  string

	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
}

// startRedisProc starts a redis-server on a free loopback port, stopped when
// the test ends.
func startRedisProc(t *testing.T) *redisProc {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found in PATH: %s (%v)", testredis.InstallHint, err)
	}
	r := &redisProc{t: t, bin: bin, dir: t.TempDir()}
	const attempts = 5
	for i := 1; ; i++ {
		if r.port, err = freePort(); err != nil {
			t.Fatalf("pick a free port: %v", err)
		}
		err = r.launch()
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "Address already in use") || i == attempts {
			t.Fatalf("%v", err)
		}
	}
	t.Cleanup(r.Stop)
	return r
}

// Addr is "127.0.0.1:port"; it does not change across restarts.
func (r *redisProc) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

func (r *redisProc) launch() error {
	r.cmd = exec.Command(r.bin,
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--dir", r.dir, "--dbfilename", "dump.rdb")
	r.out = &syncBuffer{}
	r.exited = make(chan struct{})
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	r.cmd.SysProcAttr = sysProcAttr()
	r.cmd.WaitDelay = time.Second
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", r.bin, err)
	}
	exited := r.exited
	cmd := r.cmd
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if testredis.Ping(r.Addr(), 500*time.Millisecond) == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited before answering PING; output:\n%s", r.Addr(), r.out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.kill()
			return fmt.Errorf("redis-server on %s did not answer PING within 5s; output:\n%s", r.Addr(), r.out.String())
		}
	}
}

// Down saves the data to disk and stops the server: its port refuses
// connections until Up.
func (r *redisProc) Down() {
	r.t.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1})
	defer c.Close()
	if err := c.Save(context.Background()).Err(); err != nil {
		r.t.Fatalf("SAVE before stopping redis-server: %v", err)
	}
	r.kill()
	if err := testredis.Ping(r.Addr(), 500*time.Millisecond); err == nil {
		r.t.Fatalf("redis-server on %s still answers after being stopped", r.Addr())
	}
}

// Up starts the server again on the same port with the saved data.
func (r *redisProc) Up() {
	r.t.Helper()
	// The port was ours a moment ago; another process taking it in between
	// is unlikely, but then the test cannot go on.
	if err := r.launch(); err != nil {
		r.t.Fatalf("restart redis-server on %s: %v", r.Addr(), err)
	}
}

// Freeze stops the process without closing its connections (SIGSTOP), as a
// hung or overloaded Redis looks to clients; Thaw resumes it.
func (r *redisProc) Freeze() { r.signal(syscall.SIGSTOP) }
func (r *redisProc) Thaw()   { r.signal(syscall.SIGCONT) }

func (r *redisProc) signal(sig syscall.Signal) {
	r.t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("signal %v to redis-server: %v", sig, err)
	}
}

// Stop ends the server for good; it is safe to call more than once.
func (r *redisProc) Stop() { r.kill() }

// kill sends SIGTERM (then SIGKILL) to the server's process group and waits
// until it is reaped.
func (r *redisProc) kill() {
	select {
	case <-r.exited:
		return
	default:
	}
	pgid := r.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	_ = syscall.Kill(-pgid, syscall.SIGCONT) // a frozen server acts on SIGTERM once resumed
	select {
	case <-r.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-r.exited
	}
}
