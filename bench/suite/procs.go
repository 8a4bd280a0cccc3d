package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sessiond/sessiond/internal/testproc"
	"github.com/sessiond/sessiond/internal/testredis"
)

// proc is a child process (internal/testproc: its own process group, which
// the kernel kills should the suite die, and stop signals whole) whose
// output goes to a log file.
type proc struct {
	name string
	p    *testproc.Proc
	log  *os.File
}

func startProc(name, logPath string, env []string, bin string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s: log: %w", name, err)
	}
	p, err := testproc.Start(testproc.Spec{Name: name, Path: bin, Args: args, Env: append(os.Environ(), env...), Output: f})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &proc{name: name, p: p, log: f}, nil
}

func (p *proc) exited() bool { return !p.p.Alive() }

// stop sends SIGTERM to the group, then SIGKILL after grace, and waits.
func (p *proc) stop(grace time.Duration) {
	defer p.log.Close()
	_ = p.p.Stop(grace)
}

func freePort() (int, error) {
	ports, err := testproc.FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// redisServer is a redis-server on a loopback port with the memory settings
// of deploy/redis.conf that matter here (hash-max-listpack-value 256,
// noeviction) and no persistence but the explicit SAVE the suite issues.
type redisServer struct {
	*proc
	addr string
	dir  string
}

func (r *redisServer) url() string { return "redis://" + r.addr + "/0" }

// startRedis starts redis-server in dir; a dump.rdb already there is loaded,
// which can take a while for a million sessions, hence the long wait.
func startRedis(ctx context.Context, dir, logPath string) (*redisServer, error) {
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("redis: free port: %w", err)
		}
		p, err := startProc("redis-server", logPath, nil, "redis-server",
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no",
			"--dir", dir, "--dbfilename", "dump.rdb",
			"--hash-max-listpack-value", "256",
			"--maxmemory-policy", "noeviction")
		if err != nil {
			return nil, err
		}
		r := &redisServer{proc: p, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir}
		err = waitFor(ctx, 5*time.Minute, p, func() error { return testredis.Ping(r.addr, time.Second) })
		if err == nil {
			return r, nil
		}
		p.stop(5 * time.Second)
		if attempt < 5 && strings.Contains(readFile(logPath), "Address already in use") {
			continue
		}
		return nil, fmt.Errorf("redis-server: %w; log %s:\n%s", err, logPath, tailOf(readFile(logPath), 2000))
	}
}

// waitFor polls ready every 50ms until it succeeds, p exits, ctx ends or
// limit passes.
func waitFor(ctx context.Context, limit time.Duration, p *proc, ready func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited (%v) before it was ready", p.name, p.p.WaitErr())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v: %w", p.name, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// httpServer is sessiond or the ceiling server.
type httpServer struct {
	*proc
	base  string
	pprof string // base URL of its net/http/pprof listener
}

// Bench configuration of sessiond: HS256 tokens, the suite's Redis, and the
// access log off (at info it writes one line per request, which would
// measure the log pipe).
const benchSecret = "bench-secret-bench-secret-bench-secret"

func startSessiond(ctx context.Context, bin, redisURL, logPath string) (*httpServer, error) {
	addrs, err := freeAddrs(2) // the API and the pprof listener
	if err != nil {
		return nil, fmt.Errorf("sessiond: free ports: %w", err)
	}
	addr, paddr := addrs[0], addrs[1]
	p, err := startProc("sessiond", logPath, []string{
		"SESSIOND_JWT_HS256_SECRET=" + benchSecret,
		"SESSIOND_REDIS_URL=" + redisURL,
		"SESSIOND_ADDR=" + addr,
		"SESSIOND_LOG_LEVEL=error",
		"SESSIOND_PPROF_ADDR=" + paddr,
	}, bin)
	if err != nil {
		return nil, err
	}
	s := &httpServer{proc: p, base: "http://" + addr, pprof: "http://" + paddr}
	if err := waitFor(ctx, 30*time.Second, p, func() error { return getOK(s.base + "/readyz") }); err != nil {
		p.stop(5 * time.Second)
		return nil, fmt.Errorf("sessiond: %w; log:\n%s", err, tailOf(readFile(logPath), 2000))
	}
	return s, nil
}

func startCeiling(ctx context.Context, bin, redisURL, key, logPath string) (*httpServer, error) {
	addrs, err := freeAddrs(2) // the API and the pprof listener
	if err != nil {
		return nil, fmt.Errorf("ceiling: free ports: %w", err)
	}
	addr, paddr := addrs[0], addrs[1]
	p, err := startProc("ceiling", logPath, nil, bin, "-addr", addr, "-redis", redisURL, "-key", key, "-pprof", paddr)
	if err != nil {
		return nil, err
	}
	s := &httpServer{proc: p, base: "http://" + addr, pprof: "http://" + paddr}
	if err := waitFor(ctx, 30*time.Second, p, func() error { return getOK(s.base + "/verify") }); err != nil {
		p.stop(5 * time.Second)
		return nil, fmt.Errorf("ceiling: %w; log:\n%s", err, tailOf(readFile(logPath), 2000))
	}
	return s, nil
}

// freeAddrs returns n distinct free loopback host:port addresses.
func freeAddrs(n int) ([]string, error) {
	ports, err := testproc.FreePorts(n)
	if err != nil {
		return nil, err
	}
	addrs := make([]string, n)
	for i, port := range ports {
		addrs[i] = testproc.Addr(port)
	}
	return addrs, nil
}

// cpuTime is the CPU time (user + system) the process has used so far, from
// /proc/<pid>/stat in clock ticks of 10 ms (USER_HZ is 100 on Linux).
func (p *proc) cpuTime() (time.Duration, error) { return cpuTimeOf(p.p.Pid()) }

// cpuTimeOf is the CPU time of process pid (see cpuTime).
func cpuTimeOf(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count from after its ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

func getOK(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return nil
}

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err.Error()
	}
	return string(b)
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// runCmd runs a command to completion in its own process group (killed with
// the group when ctx ends), writing its output to w.
func runCmd(ctx context.Context, w io.Writer, dir string, env []string, bin string, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", bin, strings.Join(args, " "), err)
	}
	return nil
}
