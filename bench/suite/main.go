// Command suite is `make bench`: sessiond's benchmark suite, run by hand and
// never by CI or `make test`. It starts its own redis-server on a loopback
// port, builds sessiond and the ceiling server (bench/ceiling), and measures
// in one run, each figure as the median of several runs with min and max:
//
//  1. the verify hot path under wrk -t2 -c64 vs the ceiling;
//  2. session creation through HTTP vs a raw pipelined HSET + ZADD loop;
//  3. bulk revocation of a 100k and a 1M-session tenant (bench/revokecmp);
//  4. listing page 1 vs a page at depth 50,000 and stats, in a 1M tenant;
//  5. Redis memory per session at 1M sessions;
//  6. Go micro-benchmarks with -benchmem;
//  7. a CPU profile of the verify handler.
//
// It writes bench/results/<YYYY-MM-DD-HHMM>.md and the raw logs in
// bench/results/<YYYY-MM-DD-HHMM>/. Every process it starts is stopped
// before it exits (and killed by the kernel should the suite die).
//
//	go run ./bench/suite            # the full run, about 15 minutes on 2 cores
//	go run ./bench/suite -quick     # 10k sessions, 3 s wrk runs: a smoke test
//	go run ./bench/suite -phases verify,micro
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sessiond/sessiond/bench/internal/seed"
)

// userAgent is the 110-byte user agent every seeded session carries.
const userAgent = seed.UserAgent

var allPhases = []string{"verify", "create", "seed", "list", "revoke", "micro", "profile"}

type config struct {
	quick     bool
	runs      int
	dur       time.Duration
	warmup    time.Duration
	conns     int
	n         int   // sessions in the large tenant (listing, memory)
	revokeNs  []int // tenant sizes for bench/revokecmp
	workers   int
	requests  int // sequential requests per listing run
	benchtime string
	phases    map[string]bool
	out       string
	// serverProcs is GOMAXPROCS of sessiond and the ceiling; 0 = Go's default.
	serverProcs int
}

func parseFlags() (config, error) {
	quick := os.Getenv("BENCH_QUICK") == "1"
	fs := flag.NewFlagSet("suite", flag.ContinueOnError)
	q := fs.Bool("quick", quick, "a quick smoke run: 10k sessions, 3 s wrk runs (also BENCH_QUICK=1)")
	runs := fs.Int("runs", 3, "runs per figure (the median, min and max are reported)")
	dur := fs.Duration("duration", 0, "length of one wrk run (default 10s, quick 3s)")
	conns := fs.Int("c", 64, "wrk connections and raw-loop concurrency")
	n := fs.Int("n", 0, "sessions in the large tenant for listing and memory (default 1000000, quick 10000)")
	revoke := fs.String("revoke-n", "", "comma-separated tenant sizes for bench/revokecmp (default 100000,1000000, quick 10000)")
	workers := fs.Int("workers", 32, "concurrent creators when seeding the large tenant")
	reqs := fs.Int("requests", 200, "sequential requests per listing run")
	benchtime := fs.String("benchtime", "", "go test -benchtime for the micro-benchmarks (default 1s, quick 200ms)")
	phases := fs.String("phases", strings.Join(allPhases, ","), "phases to run ("+strings.Join(allPhases, ",")+"); list needs seed")
	procs := fs.Int("server-procs", 0, "GOMAXPROCS of sessiond and the ceiling server, the same for both (0: Go's default, the CPUs they may use)")
	out := fs.String("out", "bench/results", "directory for the results file and raw logs (relative to the repository root, or absolute)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return config{}, err
	}
	c := config{quick: *q, runs: *runs, dur: *dur, conns: *conns, n: *n, workers: *workers,
		requests: *reqs, benchtime: *benchtime, out: *out, serverProcs: *procs, phases: map[string]bool{}}
	if c.runs < 1 {
		return c, errors.New("-runs must be at least 1")
	}
	if c.serverProcs < 0 {
		return c, errors.New("-server-procs must be 0 or more")
	}
	def := func(full, q time.Duration) time.Duration {
		if c.quick {
			return q
		}
		return full
	}
	if c.dur == 0 {
		c.dur = def(10*time.Second, 3*time.Second)
	}
	c.warmup = def(3*time.Second, time.Second)
	if c.n == 0 {
		c.n = 1000000
		if c.quick {
			c.n = 10000
		}
	}
	if *revoke == "" {
		*revoke = "100000,1000000"
		if c.quick {
			*revoke = "10000"
		}
	}
	for _, f := range strings.Split(*revoke, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v <= 0 {
			return c, fmt.Errorf("-revoke-n: bad size %q", f)
		}
		c.revokeNs = append(c.revokeNs, v)
	}
	if c.benchtime == "" {
		c.benchtime = "1s"
		if c.quick {
			c.benchtime = "200ms"
		}
	}
	for _, p := range strings.Split(*phases, ",") {
		p = strings.TrimSpace(p)
		known := false
		for _, a := range allPhases {
			known = known || a == p
		}
		if !known {
			return c, fmt.Errorf("-phases: unknown phase %q (want %s)", p, strings.Join(allPhases, ","))
		}
		c.phases[p] = true
	}
	if c.phases["list"] && !c.phases["seed"] {
		return c, errors.New("-phases: list needs seed (the 1M tenant is seeded once per run)")
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// env is what the phases share.
type env struct {
	cfg      config
	root     string // repository root
	tmp      string // binaries, Redis directories; removed at the end
	raw      string // raw logs, kept
	sessiond string // binaries
	ceiling  string
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, cfg config) error {
	for _, tool := range []string{"wrk", "redis-server", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not on PATH (apt-get install -y wrk redis-server; Go 1.26 from go.dev/dl)", tool)
		}
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return fmt.Errorf("run from the repository root (no go.mod in %s)", root)
	}
	start := time.Now()
	stamp := start.Format("2006-01-02-1504")
	if cfg.quick {
		stamp += "-quick"
	}
	outDir := cfg.out
	if !filepath.IsAbs(outDir) {
		outDir = filepath.Join(root, outDir)
	}
	if _, err := os.Stat(filepath.Join(outDir, stamp+".md")); err == nil {
		stamp = strings.Replace(stamp, start.Format("1504"), start.Format("150405"), 1)
	}
	e := &env{cfg: cfg, root: root, raw: filepath.Join(outDir, stamp)}
	if err := os.MkdirAll(e.raw, 0o755); err != nil {
		return err
	}
	e.tmp, err = os.MkdirTemp("", "sessiond-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(e.tmp)

	logf("building sessiond and the ceiling server")
	e.sessiond = filepath.Join(e.tmp, "sessiond")
	e.ceiling = filepath.Join(e.tmp, "ceiling")
	buildLog, err := os.Create(filepath.Join(e.raw, "build.log"))
	if err != nil {
		return err
	}
	defer buildLog.Close()
	for bin, pkg := range map[string]string{e.sessiond: "./cmd/sessiond", e.ceiling: "./bench/ceiling"} {
		if err := runCmd(ctx, buildLog, root, nil, "go", "build", "-o", bin, pkg); err != nil {
			return fmt.Errorf("build %s: %w (see %s)", pkg, err, buildLog.Name())
		}
	}

	m := describeMachine(ctx, root)
	rep := &report{path: filepath.Join(outDir, stamp+".md")}
	rep.header = header(cfg, m, start, stamp)
	if err := rep.write(); err != nil {
		return err
	}
	logf("results: %s, raw logs: %s", rel(root, rep.path), rel(root, e.raw))

	var dump string
	var base int64
	phases := []struct {
		name string
		fn   func() error
	}{
		{"verify", func() error { return phaseVerify(ctx, e, rep) }},
		{"create", func() error { return phaseCreate(ctx, e, rep) }},
		{"seed", func() (err error) { dump, base, err = phaseSeed(ctx, e, rep); return err }},
		{"list", func() error {
			if dump == "" {
				return errors.New("no dump of the large tenant (the seed phase failed)")
			}
			return phaseList(ctx, e, rep, dump, base)
		}},
		{"revoke", func() error { return phaseRevoke(ctx, e, rep) }},
		{"micro", func() error { return phaseMicro(ctx, e, rep) }},
		{"profile", func() error { return phaseProfile(ctx, e, rep) }},
	}
	for _, p := range phases {
		if !cfg.phases[p.name] {
			continue
		}
		logf("phase %s", p.name)
		t0 := time.Now()
		if err := p.fn(); err != nil {
			logf("phase %s failed: %v", p.name, err)
			rep.fail(p.name, err)
		}
		logf("phase %s took %v", p.name, time.Since(t0).Round(time.Second))
		if err := rep.write(); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted; partial results in %s", rel(root, rep.path))
		}
	}
	rep.header += fmt.Sprintf("Load average at the end: %s. Total wall time: %v.\n", loadAvg(), time.Since(start).Round(time.Second))
	if err := rep.write(); err != nil {
		return err
	}
	logf("done in %v: %s", time.Since(start).Round(time.Second), rel(root, rep.path))
	if len(rep.failures) > 0 {
		return fmt.Errorf("%d phase(s) failed; see %s", len(rep.failures), rel(root, rep.path))
	}
	return nil
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil {
		return r
	}
	return p
}
