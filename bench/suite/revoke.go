package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// revokeRun matches bench/revokecmp's per-run lines: "run 2 rest 1.234s",
// optionally followed by "(redis-server CPU 115ms)" and anything else.
var revokeRun = regexp.MustCompile(`^run (\d+) (raw|rest)\s+(\S+)(?:\s+\(redis-server CPU (\S+)\))?`)

// phaseRevoke runs bench/revokecmp (REST revoke-all of an N-session tenant vs
// a raw pipelined DEL + ZREM loop, both on identical data reloaded from a
// dump) for each size and reports its per-run times.
func phaseRevoke(ctx context.Context, e *env, rep *report) error {
	if _, err := os.Stat(filepath.Join(e.root, "bench", "revokecmp", "main.go")); errors.Is(err, os.ErrNotExist) {
		rep.add(section{title: "3. Bulk revocation", intro: "**Not measured: bench/revokecmp does not exist in this tree.** " +
			"This phase runs `revokecmp -n N -runs R` for each size and parses its `run <i> raw|rest <duration>` lines."})
		return errors.New("bench/revokecmp is missing")
	}
	bin := filepath.Join(e.tmp, "revokecmp")
	buildLog, err := os.OpenFile(filepath.Join(e.raw, "build.log"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	err = runCmd(ctx, buildLog, e.root, nil, "go", "build", "-o", bin, "./bench/revokecmp")
	buildLog.Close()
	if err != nil {
		return err
	}
	var rows []row
	var failed []string
	for _, n := range e.cfg.revokeNs {
		logPath := filepath.Join(e.raw, fmt.Sprintf("revoke-%d.log", n))
		f, err := os.Create(logPath)
		if err != nil {
			return err
		}
		var out bytes.Buffer
		logf("revoke: revokecmp -n %d -runs %d", n, e.cfg.runs)
		t0 := time.Now()
		// Bounded: seeding a million sessions takes minutes, not an hour.
		rctx, cancel := context.WithTimeout(ctx, 45*time.Minute)
		err = runCmd(rctx, io.MultiWriter(f, &out), e.root, nil, bin, "-n", fmt.Sprint(n), "-runs", fmt.Sprint(e.cfg.runs), "-workers", fmt.Sprint(e.cfg.workers))
		cancel()
		f.Close()
		logf("revoke: n=%d took %v", n, time.Since(t0).Round(time.Second))
		if err != nil {
			failed = append(failed, fmt.Sprintf("n=%d: %v (see %s)", n, err, rel(e.root, logPath)))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		times := parseRevokecmp(&out)
		rs, xs := times.raw, times.rest
		if len(rs) == 0 {
			failed = append(failed, fmt.Sprintf("n=%d: no `run <i> raw|rest <duration>` lines in %s", n, rel(e.root, logPath)))
			continue
		}
		size := num(float64(n), 0)
		rows = append(rows,
			row{figure: "revoke-all " + size + " via REST", unit: "s", vals: xs, digits: 3, ratio: ratios(xs, rs), ratioOf: "× raw", aim: atMost(1.5, "≤ 1.5× raw")},
			row{figure: "raw DEL+ZREM " + size + ", pipelined", unit: "s", vals: rs, digits: 3},
			row{figure: "revoke-all " + size + " via REST, throughput", unit: "sessions/s", vals: perSecond(n, xs)},
		)
		if len(times.restCPU) > 0 {
			rows = append(rows,
				row{figure: "redis-server CPU, REST revoke-all " + size, unit: "s", vals: times.restCPU, digits: 3, ratio: ratios(times.restCPU, times.rawCPU), ratioOf: "× raw"},
				row{figure: "redis-server CPU, raw " + size, unit: "s", vals: times.rawCPU, digits: 3},
			)
		}
	}
	intro := "`bench/revokecmp -n N -runs R` (another program, run per size): it seeds one tenant through `redisstore.Store.Create`, SAVEs, and reloads the dump " +
		"before every run (DEBUG RELOAD NOSAVE) so that both sides revoke identical data; REST is `POST /api/v1/tenants/{t}/sessions/revoke-all` " +
		"through the real router (events included), raw is DEL s:{T}:<sid> + ZREM ix:{T}:all <sid>, 1000 sessions per pipeline. Logs: `revoke-<N>.log`."
	if len(failed) > 0 {
		intro += "\n\n**Failed:** " + strings.Join(failed, "; ")
	}
	rep.add(section{title: "3. Bulk revocation", intro: intro, rows: rows})
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

func perSecond(n int, secs series) series {
	out := make(series, len(secs))
	for i, s := range secs {
		out[i] = float64(n) / s
	}
	return out
}

// revokeTimes is revokecmp's output paired by run: seconds of wall time,
// and of redis-server CPU when it reports them (empty otherwise).
type revokeTimes struct {
	raw, rest       series
	rawCPU, restCPU series
}

// parseRevokecmp pairs revokecmp's "run <i> raw|rest <duration>" lines by run
// (in order of first appearance); a run missing either side is left out.
func parseRevokecmp(r io.Reader) revokeTimes {
	type side struct {
		wall, cpu float64
		hasCPU    bool
	}
	rawBy, restBy := map[string]side{}, map[string]side{}
	var order []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := revokeRun.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		d, err := time.ParseDuration(m[3])
		if err != nil {
			continue
		}
		v := side{wall: d.Seconds()}
		if c, err := time.ParseDuration(m[4]); m[4] != "" && err == nil {
			v.cpu, v.hasCPU = c.Seconds(), true
		}
		_, seenRaw := rawBy[m[1]]
		_, seenRest := restBy[m[1]]
		if !seenRaw && !seenRest {
			order = append(order, m[1])
		}
		if m[2] == "raw" {
			rawBy[m[1]] = v
		} else {
			restBy[m[1]] = v
		}
	}
	var t revokeTimes
	for _, k := range order {
		r, okR := rawBy[k]
		x, okX := restBy[k]
		if !okR || !okX {
			continue
		}
		t.raw, t.rest = append(t.raw, r.wall), append(t.rest, x.wall)
		if r.hasCPU && x.hasCPU {
			t.rawCPU, t.restCPU = append(t.rawCPU, r.cpu), append(t.restCPU, x.cpu)
		}
	}
	return t
}
