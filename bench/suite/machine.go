package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

type machine struct {
	cpus, cpu, ram, kernel, goVersion, redis, wrk, commit string
}

// loadAvg is /proc/loadavg's first three fields: other work on the machine
// shows in the figures, so the results file records it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func describeMachine(ctx context.Context, root string) machine {
	m := machine{cpus: fmt.Sprint(runtime.NumCPU())}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
				m.ram = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	m.kernel = cmdOut(ctx, root, "uname", "-sr")
	m.goVersion = cmdOut(ctx, root, "go", "version")
	m.redis = cmdOut(ctx, root, "redis-server", "--version")
	m.wrk, _, _ = strings.Cut(cmdOut(ctx, root, "wrk", "--version"), "\n")
	m.commit = cmdOut(ctx, root, "git", "rev-parse", "--short=12", "HEAD")
	switch {
	case os.Getenv("BENCH_COMMIT") != "":
		// A tree exported with git archive has no .git; the caller says what it is.
		m.commit = os.Getenv("BENCH_COMMIT")
	case strings.HasPrefix(m.commit, "fatal") || m.commit == "":
		m.commit = "unknown (not a git checkout; set BENCH_COMMIT)"
	case cmdOut(ctx, root, "git", "status", "--porcelain", "--untracked-files=no") != "":
		m.commit += " (with uncommitted changes in the tree)"
	}
	return m
}

func cmdOut(ctx context.Context, dir, bin string, args ...string) string {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run()
	return strings.TrimSpace(out.String())
}

func header(cfg config, m machine, start time.Time, stamp string) string {
	var b strings.Builder
	mode := "full"
	if cfg.quick {
		mode = "quick (smoke; not comparable with full runs)"
	}
	fmt.Fprintf(&b, "# sessiond benchmark results %s\n\n", stamp)
	fmt.Fprintf(&b, "Produced by `make bench` (bench/suite) at %s, mode %s, commit %s.\n", start.Format(time.RFC3339), mode, m.commit)
	fmt.Fprintf(&b, "Raw logs: `bench/results/%s/`.\n\n", stamp)
	b.WriteString("| Machine | |\n|---|---|\n")
	fmt.Fprintf(&b, "| CPUs (nproc) | %s |\n| CPU | %s |\n| RAM | %s |\n| Kernel | %s |\n| Go | %s |\n| Redis | %s |\n| wrk | %s |\n",
		m.cpus, m.cpu, m.ram, m.kernel, m.goVersion, m.redis, m.wrk)
	fmt.Fprintf(&b, "\nSettings: %d runs per figure (median, min, max); wrk -t2 -c%d for %v per run after a %v warm-up; "+
		"large tenant %d sessions seeded with %d workers; listing %d sequential requests per run; revokecmp sizes %v; "+
		"go test -benchtime %s -count %d.\n",
		cfg.runs, cfg.conns, cfg.dur, cfg.warmup, cfg.n, cfg.workers, cfg.requests, cfg.revokeNs, cfg.benchtime, cfg.runs)
	b.WriteString("Ratios are medians of the per-run ratios (run i of one side ÷ run i of the other). " +
		"Everything (Redis, sessiond or the ceiling, wrk, the Go load loops) shares the same CPUs over loopback.\n")
	procs := "Go's default (the CPUs above)"
	if cfg.serverProcs > 0 {
		procs = fmt.Sprint(cfg.serverProcs)
	}
	fmt.Fprintf(&b, "GOMAXPROCS of sessiond and the ceiling server: %s.\n", procs)
	fmt.Fprintf(&b, "Load average at the start: %s.\n", loadAvg())
	return b.String()
}
