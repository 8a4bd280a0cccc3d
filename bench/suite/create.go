package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

const createTenant = "bench-create"

// phaseCreate: wrk POSTs new sessions to /api/v1/internal/sessions for the
// run's duration; then, on an emptied Redis, a raw go-redis loop writes the
// same number of sessions with the same concurrency, one pipelined
// HSET (the same fields) + ZADD per session. Redis is emptied between runs.
func phaseCreate(ctx context.Context, e *env, rep *report) error {
	dir := filepath.Join(e.tmp, "create")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rs, err := startRedis(ctx, dir, filepath.Join(e.raw, "create-redis.log"))
	if err != nil {
		return err
	}
	defer rs.Stop(10 * time.Second)
	sd, err := startSessiond(ctx, e.sessiond, rs.url(), filepath.Join(e.raw, "create-sessiond.log"), e.cfg.serverProcs)
	if err != nil {
		return err
	}
	defer sd.Stop(15 * time.Second)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, PoolSize: e.cfg.conns + 8, MinIdleConns: e.cfg.conns})
	defer rdb.Close()

	svc, err := serviceToken()
	if err != nil {
		return err
	}
	script := filepath.Join(e.tmp, "create.lua")
	if err := os.WriteFile(script, []byte(createLua+wrkDone), 0o644); err != nil {
		return err
	}
	logw, err := os.Create(filepath.Join(e.raw, "create-wrk.log"))
	if err != nil {
		return err
	}
	defer logw.Close()
	url := sd.base + "/api/v1/internal/sessions"
	secs := func(d time.Duration) string { return fmt.Sprintf("%ds", int(d.Seconds())) }
	ix := "ix:{" + createTenant + "}:all"

	logf("create: warm-up %v", e.cfg.warmup)
	if _, err := runWrk(ctx, logw, script, e.cfg.conns, secs(e.cfg.warmup), url, nil, svc, "99", createTenant); err != nil {
		return err
	}
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		return fmt.Errorf("flushall: %w", err)
	}
	var httpRate, rawRate, h50, h99, r50, r99 series
	var errs int64
	for i := 0; i < e.cfg.runs; i++ {
		fmt.Fprintf(logw, "# run %d\n", i+1)
		r, err := runWrk(ctx, logw, script, e.cfg.conns, secs(e.cfg.dur), url, nil, svc, strconv.Itoa(i+1), createTenant)
		if err != nil {
			return err
		}
		n, err := settledCount(ctx, rdb, ix)
		if err != nil {
			return err
		}
		errs += r.errors
		// wrk's rate counts requests; the sessions that exist are the figure.
		rate := float64(n) / e.cfg.dur.Seconds()
		if err := rdb.FlushAll(ctx).Err(); err != nil {
			return fmt.Errorf("flushall: %w", err)
		}
		raw, err := rawCreate(ctx, rdb, int(n), e.cfg.conns, i+1)
		if err != nil {
			return err
		}
		if got, err := rdb.ZCard(ctx, ix).Result(); err != nil || got != n {
			return fmt.Errorf("raw loop wrote %d sessions, want %d (%v)", got, n, err)
		}
		if err := rdb.FlushAll(ctx).Err(); err != nil {
			return fmt.Errorf("flushall: %w", err)
		}
		httpRate, rawRate = append(httpRate, rate), append(rawRate, raw.rate)
		h50, h99, r50, r99 = append(h50, r.p50), append(h99, r.p99), append(r50, raw.p50), append(r99, raw.p99)
		logf("create: run %d http %d sessions %.0f/s p50 %.3f ms p99 %.3f ms errors %d; raw %.0f/s p50 %.3f ms p99 %.3f ms",
			i+1, n, rate, r.p50, r.p99, r.errors, raw.rate, raw.p50, raw.p99)
		fmt.Fprintf(logw, "# run %d: %d sessions exist after wrk; raw loop %.0f sessions/s p50 %.3f ms p99 %.3f ms\n", i+1, n, raw.rate, raw.p50, raw.p99)
	}
	intro := fmt.Sprintf("wrk -t2 -c%d -d%v POSTing `/api/v1/internal/sessions` with a service token: unique ids, five sessions per user, "+
		"a realistic body (110-byte user agent, e-mail, display name, IP, location, partner, ttl_seconds); the rate is the sessions that exist afterwards ÷ duration. "+
		"Raw: the same number of sessions written by %d goroutines, each session one go-redis pipeline of HSET (the hash fields sessiond writes) + ZADD to the tenant index. "+
		"Non-2xx or socket errors over all wrk runs: %d.", e.cfg.conns, e.cfg.dur, e.cfg.conns, errs)
	rep.add(section{title: "2. Session creation", intro: intro, rows: []row{
		{figure: "create sessions/s, HTTP", vals: httpRate, ratio: ratios(httpRate, rawRate), ratioOf: "of raw"},
		{figure: "create sessions/s, raw HSET+ZADD pipeline", vals: rawRate},
		{figure: "create p50, HTTP", unit: "ms", vals: h50, digits: 3, ratio: ratios(h50, r50), ratioOf: "× raw"},
		{figure: "create p50, raw", unit: "ms", vals: r50, digits: 3},
		{figure: "create p99, HTTP", unit: "ms", vals: h99, digits: 3, ratio: ratios(h99, r99), ratioOf: "× raw"},
		{figure: "create p99, raw", unit: "ms", vals: r99, digits: 3},
	}})
	return nil
}

type rawResult struct{ rate, p50, p99 float64 }

// rawCreate writes n sessions with conc goroutines, one HSET + ZADD pipeline
// per session, and times each round trip.
func rawCreate(ctx context.Context, rdb *redis.Client, n, conc, run int) (rawResult, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	lat := make([][]time.Duration, conc)
	errc := make(chan error, conc)
	now := time.Now()
	c, exp := strconv.FormatInt(now.UnixMilli(), 10), strconv.FormatInt(now.Add(24*time.Hour).UnixMilli(), 10)
	ix := "ix:{" + createTenant + "}:all"
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				id := fmt.Sprintf("01936f%02d%02d-bench-%020d", run, w%100, i)
				uid := fmt.Sprintf("user-%d-%d", run, i/5)
				t0 := time.Now()
				pipe := rdb.Pipeline()
				// The field names of redisstore/codec.go.
				pipe.HSet(ctx, "s:{"+createTenant+"}:"+id, "u", uid, "p", "partner-1", "m", uid+"@example.com", "n", "Ada Lovelace",
					"i", "203.0.113.42", "a", userAgent, "dt", "desktop", "l", "Berlin, DE", "c", c, "e", exp, "ae", exp)
				pipe.ZAdd(ctx, ix, redis.Z{Score: float64(now.Add(24 * time.Hour).UnixMilli()), Member: id})
				if _, err := pipe.Exec(ctx); err != nil {
					errc <- fmt.Errorf("raw create: %w", err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}(w)
	}
	wg.Wait()
	took := time.Since(start)
	close(errc)
	if err := <-errc; err != nil {
		return rawResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return rawResult{}, err
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return rawResult{rate: float64(n) / took.Seconds(), p50: ms(percentile(all, 50)), p99: ms(percentile(all, 99))}, nil
}

// settledCount waits until requests wrk abandoned at its deadline have
// finished (sessiond completes them), then counts the tenant's sessions.
func settledCount(ctx context.Context, rdb *redis.Client, ix string) (int64, error) {
	prev := int64(-1)
	for {
		n, err := rdb.ZCard(ctx, ix).Result()
		if err != nil {
			return 0, fmt.Errorf("count created sessions: %w", err)
		}
		if n == prev {
			return n, nil
		}
		prev = n
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}
