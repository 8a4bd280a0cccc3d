package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sessiond/sessiond/internal/testproc"
)

// logTail is how much of a log an error quotes.
const logTail = 2000

// spec is how the suite starts a process: in internal/testproc's process
// group of its own (which the kernel kills should the suite die, and stop
// signals whole), with env added to the suite's environment and the output
// in logPath, waiting until ready answers at addr.
func spec(name, logPath, addr string, ready func(string) error, limit time.Duration, env []string, bin string, args ...string) testproc.Spec {
	return testproc.Spec{
		Name: name, Path: bin, Args: args, Env: append(os.Environ(), env...),
		Addr: addr, Ready: ready, ReadyTimeout: limit, TailSize: logTail, LogFile: logPath,
	}
}

// redisServer is a redis-server on a loopback port with the memory settings
// of deploy/redis.conf that matter here (hash-max-listpack-value 256,
// noeviction) and no persistence but the explicit SAVE the suite issues.
type redisServer struct{ *testproc.Proc }

func (r *redisServer) url() string { return "redis://" + r.Addr + "/0" }

// startRedis starts redis-server in dir; a dump.rdb already there is loaded,
// which can take a while for a million sessions, hence the long wait.
func startRedis(ctx context.Context, dir, logPath string) (*redisServer, error) {
	ping := func(addr string) error { return testproc.PingRESP(addr, time.Second) }
	p, err := testproc.Retry(ctx, 1, func(ports []int) (testproc.Spec, error) {
		return spec("redis-server", logPath, testproc.Addr(ports[0]), ping, 5*time.Minute, nil, "redis-server",
			"--port", strconv.Itoa(ports[0]), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no",
			"--dir", dir, "--dbfilename", "dump.rdb",
			"--hash-max-listpack-value", "256",
			"--maxmemory-policy", "noeviction"), nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w; log %s", err, logPath)
	}
	return &redisServer{p}, nil
}

// httpServer is sessiond or the ceiling server.
type httpServer struct {
	*testproc.Proc
	base  string
	pprof string // base URL of its net/http/pprof listener
}

// Bench configuration of sessiond: HS256 tokens, the suite's Redis, and the
// access log off (at info it writes one line per request, which would
// measure the log pipe).
const benchSecret = "bench-secret-bench-secret-bench-secret"

func startSessiond(ctx context.Context, bin, redisURL, logPath string, procs int) (*httpServer, error) {
	return startHTTP(ctx, func(addr, paddr string) testproc.Spec {
		return spec("sessiond", logPath, addr, testproc.HTTPReady("/readyz"), 30*time.Second, append([]string{
			"SESSIOND_JWT_HS256_SECRET=" + benchSecret,
			"SESSIOND_REDIS_URL=" + redisURL,
			"SESSIOND_ADDR=" + addr,
			"SESSIOND_LOG_LEVEL=error",
			"SESSIOND_PPROF_ADDR=" + paddr,
		}, procsEnv(procs)...), bin)
	})
}

func startCeiling(ctx context.Context, bin, redisURL, key, logPath string, procs int) (*httpServer, error) {
	return startHTTP(ctx, func(addr, paddr string) testproc.Spec {
		return spec("ceiling", logPath, addr, testproc.HTTPReady("/verify"), 30*time.Second, procsEnv(procs),
			bin, "-addr", addr, "-redis", redisURL, "-key", key, "-pprof", paddr)
	})
}

// procsEnv sets GOMAXPROCS of a server the suite starts (-server-procs);
// 0 leaves Go's default, the CPUs the process may use.
func procsEnv(procs int) []string {
	if procs <= 0 {
		return nil
	}
	return []string{"GOMAXPROCS=" + strconv.Itoa(procs)}
}

// startHTTP starts an HTTP server on two free ports, the API's and the
// pprof listener's.
func startHTTP(ctx context.Context, s func(addr, paddr string) testproc.Spec) (*httpServer, error) {
	addrs, err := testproc.FreeAddrs(2)
	if err != nil {
		return nil, err
	}
	sp := s(addrs[0], addrs[1])
	p, err := testproc.Start(ctx, sp)
	if err != nil {
		return nil, fmt.Errorf("%w; log %s", err, sp.LogFile)
	}
	return &httpServer{Proc: p, base: "http://" + addrs[0], pprof: "http://" + addrs[1]}, nil
}

// cpuTimeOf is the CPU time (user + system) process pid has used so far,
// from /proc/<pid>/stat in clock ticks of 10 ms (USER_HZ is 100 on Linux).
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

// runCmd runs a command to completion in its own process group (killed with
// the group when ctx ends), writing its output to w.
func runCmd(ctx context.Context, w io.Writer, dir string, env []string, bin string, args ...string) error {
	return testproc.Run(ctx, testproc.Spec{Name: bin, Path: bin, Args: args, Dir: dir, Env: append(os.Environ(), env...), Output: w})
}
