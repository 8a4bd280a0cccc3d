package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessiond/sessiond/pkg/auth"
)

func mint(o auth.MintOptions) (string, error) {
	if o.TTL == 0 {
		o.TTL = 24 * time.Hour
	}
	tok, err := auth.MintHS256([]byte(benchSecret), o)
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return tok, nil
}

func serviceToken() (string, error) {
	o, err := auth.RoleOptions("service")
	if err != nil {
		return "", err
	}
	return mint(o)
}

// do sends one request with a bearer token and returns status and body.
func do(ctx context.Context, c *http.Client, method, url, token, body string) (int, []byte, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// phaseVerify: wrk -t2 -c64 on GET /api/v1/auth/verify of sessiond and on
// the ceiling's GET /verify, alternating which goes first, on one Redis.
func phaseVerify(ctx context.Context, e *env, rep *report) error {
	dir := filepath.Join(e.tmp, "verify")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rs, err := startRedis(ctx, dir, filepath.Join(e.raw, "verify-redis.log"))
	if err != nil {
		return err
	}
	defer rs.Stop(10 * time.Second)
	sd, err := startSessiond(ctx, e.sessiond, rs.url(), filepath.Join(e.raw, "verify-sessiond.log"), e.cfg.serverProcs)
	if err != nil {
		return err
	}
	defer sd.Stop(15 * time.Second)
	svc, err := serviceToken()
	if err != nil {
		return err
	}
	body := `{"id":"bench","user_id":"u1","tenant_id":"t1","partner_id":"p1","ttl_seconds":86400,"ip_address":"203.0.113.42","user_agent":"` +
		userAgent + `","user_email":"u1@example.com","user_display_name":"Ada Lovelace","location":"Berlin, DE"}`
	st, b, err := do(ctx, http.DefaultClient, http.MethodPost, sd.base+"/api/v1/internal/sessions", svc, body)
	if err != nil || st != http.StatusCreated {
		return fmt.Errorf("create the bench session: status %d %s: %v", st, b, err)
	}
	// The ceiling answers 503 until the hash exists, so it starts now.
	ce, err := startCeiling(ctx, e.ceiling, rs.url(), "s:{t1}:bench", filepath.Join(e.raw, "verify-ceiling.log"), e.cfg.serverProcs)
	if err != nil {
		return err
	}
	defer ce.Stop(5 * time.Second)
	user, err := mint(auth.MintOptions{Subject: "u1", TenantID: "t1", SessionID: "bench"})
	if err != nil {
		return err
	}
	if st, b, err := do(ctx, http.DefaultClient, http.MethodGet, sd.base+"/api/v1/auth/verify", user, ""); err != nil || st != http.StatusOK {
		return fmt.Errorf("verify the bench token: status %d %s: %v", st, b, err)
	}

	script := filepath.Join(e.tmp, "lat.lua")
	if err := os.WriteFile(script, []byte(wrkDone), 0o644); err != nil {
		return err
	}
	logw, err := os.Create(filepath.Join(e.raw, "verify-wrk.log"))
	if err != nil {
		return err
	}
	defer logw.Close()
	hdr := []string{"Authorization: Bearer " + user}
	vURL, cURL := sd.base+"/api/v1/auth/verify", ce.base+"/verify"
	secs := func(d time.Duration) string { return fmt.Sprintf("%ds", int(d.Seconds())) }
	logf("verify: warm-up %v each", e.cfg.warmup)
	if _, err := runWrk(ctx, logw, script, e.cfg.conns, secs(e.cfg.warmup), vURL, hdr); err != nil {
		return err
	}
	if _, err := runWrk(ctx, logw, script, e.cfg.conns, secs(e.cfg.warmup), cURL, nil); err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	var v, c []wrkResult
	var vCPU, cCPU, vRedis, cRedis series // µs of CPU per request, per run
	var errs int64
	for i := 0; i < e.cfg.runs; i++ {
		first, second := "sessiond", "ceiling"
		if i%2 == 1 {
			first, second = second, first
		}
		for _, target := range []string{first, second} {
			fmt.Fprintf(logw, "# run %d %s\n", i+1, target)
			srv, url, h := sd, vURL, hdr
			if target == "ceiling" {
				srv, url, h = ce, cURL, nil
			}
			r, cpu, rcpu, err := measuredWrk(ctx, logw, script, e.cfg.conns, secs(e.cfg.dur), url, h, srv, rdb)
			if err != nil {
				return err
			}
			if target == "sessiond" {
				v, vCPU, vRedis = append(v, r), append(vCPU, cpu), append(vRedis, rcpu)
			} else {
				c, cCPU, cRedis = append(c, r), append(cCPU, cpu), append(cRedis, rcpu)
			}
			errs += r.errors
			logf("verify: run %d %-8s %8.0f req/s p50 %.3f ms p99 %.3f ms errors %d, CPU/request %.1f µs server %.1f µs Redis",
				i+1, target, r.rps, r.p50, r.p99, r.errors, cpu, rcpu)
		}
	}
	vr, cr := pick(v, func(r wrkResult) float64 { return r.rps }), pick(c, func(r wrkResult) float64 { return r.rps })
	v50, c50 := pick(v, func(r wrkResult) float64 { return r.p50 }), pick(c, func(r wrkResult) float64 { return r.p50 })
	v99, c99 := pick(v, func(r wrkResult) float64 { return r.p99 }), pick(c, func(r wrkResult) float64 { return r.p99 })
	intro := fmt.Sprintf("wrk -t2 -c%d -d%v on `GET /api/v1/auth/verify` (a valid HS256 token of a live session with a 110-byte user agent) "+
		"and on bench/ceiling (bare gin, one go-redis HGETALL of the same hash, no auth), the two alternating, on one redis-server. "+
		"Non-2xx or socket errors over all runs: %d.", e.cfg.conns, e.cfg.dur, errs)
	rep.add(section{title: "1. Verify hot path", intro: intro, rows: []row{
		{figure: "verify req/s, sessiond", vals: vr, ratio: ratios(vr, cr), ratioOf: "of ceiling", aim: atLeast(0.9, "≥ 0.9 of ceiling")},
		{figure: "verify req/s, ceiling", vals: cr},
		{figure: "verify p50, sessiond", unit: "ms", vals: v50, digits: 3, ratio: ratios(v50, c50), ratioOf: "× ceiling"},
		{figure: "verify p50, ceiling", unit: "ms", vals: c50, digits: 3},
		{figure: "verify p99, sessiond", unit: "ms", vals: v99, digits: 3, ratio: ratios(v99, c99), ratioOf: "× ceiling"},
		{figure: "verify p99, ceiling", unit: "ms", vals: c99, digits: 3},
		{figure: "server CPU per request, sessiond", unit: "µs", vals: vCPU, digits: 1, ratio: ratios(vCPU, cCPU), ratioOf: "× ceiling"},
		{figure: "server CPU per request, ceiling", unit: "µs", vals: cCPU, digits: 1},
		{figure: "Redis CPU per request, sessiond", unit: "µs", vals: vRedis, digits: 1, ratio: ratios(vRedis, cRedis), ratioOf: "× ceiling"},
		{figure: "Redis CPU per request, ceiling", unit: "µs", vals: cRedis, digits: 1},
	}})
	return profileUnderLoad(ctx, e, rep, logw, script, []profiled{{"sessiond", sd, vURL, hdr}, {"ceiling", ce, cURL, nil}})
}

// measuredWrk is one wrk run with the CPU time the server and Redis spent
// on it, in µs per request.
func measuredWrk(ctx context.Context, logw io.Writer, script string, conns int, dur, url string, hdr []string, srv *httpServer, rdb *redis.Client) (wrkResult, float64, float64, error) {
	c0, err := cpuTimeOf(srv.Pid())
	if err != nil {
		return wrkResult{}, 0, 0, err
	}
	r0, err := redisCPU(ctx, rdb)
	if err != nil {
		return wrkResult{}, 0, 0, err
	}
	r, err := runWrk(ctx, logw, script, conns, dur, url, hdr)
	if err != nil {
		return r, 0, 0, err
	}
	c1, err := cpuTimeOf(srv.Pid())
	if err != nil {
		return r, 0, 0, err
	}
	r1, err := redisCPU(ctx, rdb)
	if err != nil {
		return r, 0, 0, err
	}
	n := float64(max(r.requests, 1))
	return r, float64((c1 - c0).Microseconds()) / n, float64((r1 - r0).Microseconds()) / n, nil
}

// redisCPU is the CPU time Redis has used (INFO cpu: used_cpu_sys +
// used_cpu_user, main thread and background threads).
func redisCPU(ctx context.Context, rdb *redis.Client) (time.Duration, error) {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, fmt.Errorf("redis INFO cpu: %w", err)
	}
	var secs float64
	for _, line := range strings.Split(info, "\n") {
		k, val, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return 0, fmt.Errorf("redis INFO cpu %s: %w", k, err)
			}
			secs += f
		}
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// profiled is a server whose CPU profile is taken under wrk load.
type profiled struct {
	name string
	srv  *httpServer
	url  string
	hdr  []string
}

// profileUnderLoad takes a CPU profile of each server from its pprof listener
// during one more wrk run (not counted in the figures), keeps the profiles in
// the raw logs and puts pprof's top functions in the results: where the
// live servers' time goes, network stack included.
func profileUnderLoad(ctx context.Context, e *env, rep *report, logw io.Writer, script string, targets []profiled) error {
	secs := int(e.cfg.dur.Seconds())
	var extra strings.Builder
	for _, t := range targets {
		prof := filepath.Join(e.raw, "verify-live-"+t.name+".pprof")
		got := make(chan error, 1)
		go func() { got <- fetch(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", t.srv.pprof, secs), prof) }()
		fmt.Fprintf(logw, "# profiled run %s\n", t.name)
		if _, err := runWrk(ctx, logw, script, e.cfg.conns, fmt.Sprintf("%ds", secs+1), t.url, t.hdr); err != nil {
			return err
		}
		if err := <-got; err != nil {
			return fmt.Errorf("profile %s: %w", t.name, err)
		}
		var top bytes.Buffer
		if err := runCmd(ctx, &top, e.root, nil, "go", "tool", "pprof", "-top", "-nodecount=30", prof); err != nil {
			return err
		}
		var cum bytes.Buffer
		if err := runCmd(ctx, &cum, e.root, nil, "go", "tool", "pprof", "-top", "-cum", "-nodecount=80", prof); err != nil {
			return err
		}
		_ = os.WriteFile(filepath.Join(e.raw, "verify-live-"+t.name+"-cum.txt"), cum.Bytes(), 0o644)
		fmt.Fprintf(&extra, "**%s** (`%s`):\n\n```\n%s\n```\n\n", t.name, rel(e.root, prof), pprofTable(top.String()))
	}
	intro := fmt.Sprintf("A CPU profile of each live server from its pprof listener (sessiond: `SESSIOND_PPROF_ADDR`; the ceiling: `-pprof`), "+
		"%d s during one more `wrk -t2 -c%d` run on the same data, not counted above. The 30 functions with the most flat time; "+
		"the cumulative view is `verify-live-<name>-cum.txt` in the raw logs.", secs, e.cfg.conns)
	rep.add(section{title: "1c. CPU profiles under the verify load", intro: intro, extra: strings.TrimSpace(extra.String())})
	return nil
}

// fetch saves url's body to path.
func fetch(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// pprofTable is pprof -top's output without its preamble about files and
// build ids.
func pprofTable(out string) string {
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") || strings.HasPrefix(line, "Type:") || strings.HasPrefix(line, "Time:") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.TrimSpace(strings.Join(keep, "\n"))
}

func pick[T any](xs []T, f func(T) float64) series {
	out := make(series, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
