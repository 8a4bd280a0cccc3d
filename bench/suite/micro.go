package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// microPackages hold the micro-benchmarks: token verification (pkg/auth),
// the pkg/client verify cache vs a network verify, the verify handler and
// envelope encoding (handlers), key building and the session codec
// (redisstore).
var microPackages = []string{"./pkg/client", "./pkg/auth", "./handlers", "./redisstore"}

type benchStat struct {
	pkg, name         string
	ns, bytes, allocs series
	extraUnits        []string
	extra             map[string]series
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.+)$`)

// parseBench reads `go test -bench` output: the package from "pkg:" lines,
// every "value unit" pair of each result line.
func parseBench(r io.Reader) []*benchStat {
	var order []*benchStat
	byKey := map[string]*benchStat{}
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(strings.TrimSpace(p), "github.com/sessiond/sessiond/")
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key := pkg + " " + m[1]
		b := byKey[key]
		if b == nil {
			b = &benchStat{pkg: pkg, name: m[1], extra: map[string]series{}}
			byKey[key] = b
			order = append(order, b)
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch unit := f[i+1]; unit {
			case "ns/op":
				b.ns = append(b.ns, v)
			case "B/op":
				b.bytes = append(b.bytes, v)
			case "allocs/op":
				b.allocs = append(b.allocs, v)
			default:
				if _, ok := b.extra[unit]; !ok {
					b.extraUnits = append(b.extraUnits, unit)
				}
				b.extra[unit] = append(b.extra[unit], v)
			}
		}
	}
	return order
}

// phaseMicro runs the Go micro-benchmarks -count runs times, one package at a
// time (-p 1) so that they do not share the CPUs, and reports medians. It
// also tries benchstat through the module proxy and keeps its output.
func phaseMicro(ctx context.Context, e *env, rep *report) error {
	rawPath := filepath.Join(e.raw, "micro-bench.txt")
	f, err := os.Create(rawPath)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", strconv.Itoa(e.cfg.runs),
		"-benchtime", e.cfg.benchtime, "-p", "1", "-timeout", "30m"}, microPackages...)
	logf("micro: go %s", strings.Join(args, " "))
	runErr := runCmd(ctx, io.MultiWriter(f, &out), e.root, nil, "go", args...)
	f.Close()
	stats := parseBench(bytes.NewReader(out.Bytes()))
	if runErr != nil && len(stats) == 0 {
		return fmt.Errorf("%w; output in %s", runErr, rel(e.root, rawPath))
	}

	var b strings.Builder
	b.WriteString("| Package | Benchmark | ns/op median | min | max | B/op | allocs/op | other |\n|---|---|---:|---:|---:|---:|---:|---|\n")
	for _, s := range stats {
		var other []string
		for _, u := range s.extraUnits {
			other = append(other, num(s.extra[u].median(), 1)+" "+u)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", s.pkg, strings.TrimPrefix(s.name, "Benchmark"),
			nsNum(s.ns.median()), nsNum(s.ns.min()), nsNum(s.ns.max()), num(s.bytes.median(), 0), num(s.allocs.median(), 0), strings.Join(other, ", "))
	}
	if runErr != nil {
		fmt.Fprintf(&b, "\n**go test failed** (%v); the table has what finished. See `%s`.\n", runErr, rel(e.root, rawPath))
	}

	// benchstat, when the module proxy is reachable.
	bctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var bs bytes.Buffer
	if err := runCmd(bctx, &bs, e.raw, nil, "go", "run", "golang.org/x/perf/cmd/benchstat@latest", filepath.Base(rawPath)); err == nil {
		_ = os.WriteFile(filepath.Join(e.raw, "micro-benchstat.txt"), bs.Bytes(), 0o644)
		fmt.Fprintf(&b, "\nbenchstat of the same runs: `%s`.\n", rel(e.root, filepath.Join(e.raw, "micro-benchstat.txt")))
	} else {
		logf("micro: benchstat not available (%v); medians computed by the suite", err)
	}

	// The pkg/client cache: a hit vs a network verify.
	var rows []row
	hit, net := find(stats, "pkg/client", "BenchmarkCachingVerifierHit/serial"), find(stats, "pkg/client", "BenchmarkVerifyNetwork/serial")
	if hit != nil && net != nil {
		rows = append(rows,
			row{figure: "pkg/client CachingVerifier hit", unit: "ns/op", vals: hit.ns, digits: 1, ratio: ratios(net.ns, hit.ns), ratioOf: "× faster than a network verify"},
			row{figure: "pkg/client network verify (loopback, real router + Redis)", unit: "ns/op", vals: net.ns, digits: 0})
	}
	hitP, netP := find(stats, "pkg/client", "BenchmarkCachingVerifierHit/parallel"), find(stats, "pkg/client", "BenchmarkVerifyNetwork/parallel")
	if hitP != nil && netP != nil {
		rows = append(rows,
			row{figure: "CachingVerifier hit, parallel", unit: "ns/op", vals: hitP.ns, digits: 1, ratio: ratios(netP.ns, hitP.ns), ratioOf: "× faster than a network verify"},
			row{figure: "network verify, parallel", unit: "ns/op", vals: netP.ns, digits: 0})
	}
	intro := fmt.Sprintf("`go test -run '^$' -bench . -benchmem -count %d -benchtime %s -p 1 %s`; medians of the %d counts "+
		"(B/op and allocs/op are medians too). Raw output: `%s`.",
		e.cfg.runs, e.cfg.benchtime, strings.Join(microPackages, " "), e.cfg.runs, rel(e.root, rawPath))
	rep.add(section{title: "6. Go micro-benchmarks", intro: intro, rows: rows, extra: b.String()})
	return runErr
}

func find(stats []*benchStat, pkg, name string) *benchStat {
	for _, s := range stats {
		if s.pkg == pkg && s.name == name {
			return s
		}
	}
	return nil
}

// nsNum shows a decimal only where it matters.
func nsNum(v float64) string {
	if v >= 1000 {
		return num(v, 0)
	}
	return num(v, 1)
}

// phaseProfile profiles BenchmarkVerifyHandler (the real router against a
// real redis-server, in-process) and keeps the profile and pprof's top
// functions: where the verify path's Go time goes.
func phaseProfile(ctx context.Context, e *env, rep *report) error {
	bin := filepath.Join(e.tmp, "handlers.test")
	prof := filepath.Join(e.raw, "verify-cpu.pprof")
	benchtime := "5s"
	if e.cfg.quick {
		benchtime = "1s"
	}
	logPath := filepath.Join(e.raw, "verify-profile.log")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := runCmd(ctx, f, e.root, nil, "go", "test", "-run", "^$", "-bench", "^BenchmarkVerifyHandler$", "-benchmem",
		"-benchtime", benchtime, "-cpuprofile", prof, "-o", bin, "./handlers"); err != nil {
		return fmt.Errorf("%w (see %s)", err, rel(e.root, logPath))
	}
	var flat, cum bytes.Buffer
	if err := runCmd(ctx, &flat, e.root, nil, "go", "tool", "pprof", "-top", "-nodecount=25", bin, prof); err != nil {
		return err
	}
	if err := runCmd(ctx, &cum, e.root, nil, "go", "tool", "pprof", "-top", "-cum", "-nodecount=60", bin, prof); err != nil {
		return err
	}
	_ = os.WriteFile(filepath.Join(e.raw, "verify-profile-flat.txt"), flat.Bytes(), 0o644)
	_ = os.WriteFile(filepath.Join(e.raw, "verify-profile-cum.txt"), cum.Bytes(), 0o644)
	intro := fmt.Sprintf("`go test -run '^$' -bench '^BenchmarkVerifyHandler$' -benchtime %s -cpuprofile …  ./handlers`: the real router and "+
		"a real redis-server, in-process (no network stack on the client side; the profile covers the whole test binary, setup included). The 25 functions with the most flat time; "+
		"`%s` and `verify-profile-cum.txt` (cumulative) in the raw logs, open with `go tool pprof`.", benchtime, rel(e.root, prof))
	rep.add(section{title: "7. CPU profile of the verify handler", intro: intro, extra: "```\n" + pprofTable(flat.String()) + "\n```"})
	return nil
}
