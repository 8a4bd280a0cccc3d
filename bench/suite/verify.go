package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

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
	defer rs.stop(10 * time.Second)
	sd, err := startSessiond(ctx, e.sessiond, rs.url(), filepath.Join(e.raw, "verify-sessiond.log"))
	if err != nil {
		return err
	}
	defer sd.stop(15 * time.Second)
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
	ce, err := startCeiling(ctx, e.ceiling, rs.url(), "s:{t1}:bench", filepath.Join(e.raw, "verify-ceiling.log"))
	if err != nil {
		return err
	}
	defer ce.stop(5 * time.Second)
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
	var v, c []wrkResult
	var errs int64
	for i := 0; i < e.cfg.runs; i++ {
		first, second := "sessiond", "ceiling"
		if i%2 == 1 {
			first, second = second, first
		}
		for _, target := range []string{first, second} {
			fmt.Fprintf(logw, "# run %d %s\n", i+1, target)
			var r wrkResult
			if target == "sessiond" {
				r, err = runWrk(ctx, logw, script, e.cfg.conns, secs(e.cfg.dur), vURL, hdr)
				v = append(v, r)
			} else {
				r, err = runWrk(ctx, logw, script, e.cfg.conns, secs(e.cfg.dur), cURL, nil)
				c = append(c, r)
			}
			if err != nil {
				return err
			}
			errs += r.errors
			logf("verify: run %d %-8s %8.0f req/s p50 %.3f ms p99 %.3f ms errors %d", i+1, target, r.rps, r.p50, r.p99, r.errors)
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
	}})
	return nil
}

func pick[T any](xs []T, f func(T) float64) series {
	out := make(series, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
