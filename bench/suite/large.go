package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/bench/internal/seed"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/redisstore"
)

// bigTenant is the large tenant of the seed, listing and memory figures.
const bigTenant = "tenant-big"

// phaseSeed creates the large tenant through redisstore.Store.Create (every
// index, 110-byte user agent, five sessions per user, as bench/memrevoke
// does), measures used_memory before and after, and SAVEs a dump the
// listing phase restarts from. It returns the dump and the empty server's
// used_memory.
func phaseSeed(ctx context.Context, e *env, rep *report) (string, int64, error) {
	dir := filepath.Join(e.tmp, "seed")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", 0, err
	}
	rs, err := startRedis(ctx, dir, filepath.Join(e.raw, "seed-redis.log"))
	if err != nil {
		return "", 0, err
	}
	defer rs.Stop(30 * time.Second)
	n, workers := e.cfg.n, e.cfg.workers
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, PoolSize: workers + 4, ReadTimeout: 10 * time.Minute})
	defer rdb.Close()
	st := redisstore.New(rdb, redisstore.Options{})
	base, err := seed.UsedMemory(ctx, rdb)
	if err != nil {
		return "", 0, err
	}

	logf("seed: %d sessions through Store.Create with %d workers", n, workers)
	start := time.Now()
	var done atomic.Int64
	stopProgress := make(chan struct{})
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				d := done.Load()
				logf("seed: %d/%d (%.0f/s)", d, n, float64(d)/time.Since(start).Seconds())
			}
		}
	}()
	shape := seed.Shape{Tenant: bigTenant, Partner: "partner-1", PerUser: 5, UserFormat: "user-%07d"}
	err = seed.Create(ctx, st, shape, n, workers, func() { done.Add(1) })
	close(stopProgress)
	if err != nil {
		return "", 0, err
	}
	took := time.Since(start)
	after, err := seed.UsedMemory(ctx, rdb)
	if err != nil {
		return "", 0, err
	}
	logf("seed: %d sessions in %v (%.0f/s); used_memory +%d bytes = %.0f bytes/session",
		n, took.Round(time.Second), float64(n)/took.Seconds(), after-base, float64(after-base)/float64(n))

	t0 := time.Now()
	if err := rdb.Save(ctx).Err(); err != nil {
		return "", 0, fmt.Errorf("seed: SAVE: %w", err)
	}
	logf("seed: SAVE took %v", time.Since(t0).Round(time.Millisecond))
	info, _ := rdb.Info(ctx, "memory", "keyspace").Result()
	_ = os.WriteFile(filepath.Join(e.raw, "seed-info.txt"), []byte(info), 0o644)
	_ = rs.Stop(30 * time.Second)

	perSession := float64(after-base) / float64(n)
	rep.add(section{title: "5. Memory", intro: fmt.Sprintf(
		"%s sessions in one tenant created through `redisstore.Store.Create` by %d workers (every index: tenant, user, device, users, "+
			"id pointer, partner and global views, outbox; 110-byte user agent; five sessions per user), "+
			"hash-max-listpack-value 256 as in deploy/redis.conf. used_memory after − used_memory of the empty server, ÷ sessions. "+
			"One seeding per run (the figure is deterministic up to allocator noise); the restart row is the same data reloaded from the dump.",
		num(float64(n), 0), workers), rows: []row{
		{figure: fmt.Sprintf("bytes/session at %s sessions", num(float64(n), 0)), unit: "B", vals: series{perSession}, aim: atMost(1024, "≤ 1 KB")},
		{figure: fmt.Sprintf("seeding through Store.Create (in-process, %d workers)", workers), unit: "sessions/s", vals: series{float64(n) / took.Seconds()}},
	}})
	return filepath.Join(dir, "dump.rdb"), base, nil
}

// restoreDump starts a redis-server on a copy of dump.
func restoreDump(ctx context.Context, e *env, dump, name string) (*redisServer, error) {
	dir := filepath.Join(e.tmp, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := copyFile(dump, filepath.Join(dir, "dump.rdb")); err != nil {
		return nil, err
	}
	t0 := time.Now()
	rs, err := startRedis(ctx, dir, filepath.Join(e.raw, name+"-redis.log"))
	if err != nil {
		return nil, err
	}
	logf("%s: redis-server loaded the dump in %v", name, time.Since(t0).Round(time.Millisecond))
	return rs, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// phaseList: sequential GETs (one connection, keep-alive) of page 1, of a
// page at depth 50,000 and of the stats of the large tenant, restored from
// the seed's dump; the three alternate within each run.
func phaseList(ctx context.Context, e *env, rep *report, dump string, emptyBase int64) error {
	rs, err := restoreDump(ctx, e, dump, "list")
	if err != nil {
		return err
	}
	defer rs.Stop(30 * time.Second)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	n, err := rdb.ZCard(ctx, "ix:{"+bigTenant+"}:all").Result()
	if err != nil || n != int64(e.cfg.n) {
		return fmt.Errorf("restored tenant has %d sessions, want %d (%v)", n, e.cfg.n, err)
	}
	reloaded, err := seed.UsedMemory(ctx, rdb)
	if err != nil {
		return err
	}
	sd, err := startSessiond(ctx, e.sessiond, rs.url(), filepath.Join(e.raw, "list-sessiond.log"), e.cfg.serverProcs)
	if err != nil {
		return err
	}
	defer sd.Stop(15 * time.Second)
	admin, err := mint(auth.MintOptions{Subject: "bench-admin", Role: auth.RoleSuperAdmin})
	if err != nil {
		return err
	}

	const perPage = 20
	depth := min(50000, e.cfg.n/2)
	deepPage := depth/perPage + 1
	base := sd.base + "/api/v1/tenants/" + bigTenant + "/sessions"
	targets := []struct{ name, url string }{
		{"page 1", fmt.Sprintf("%s?page=1&per_page=%d", base, perPage)},
		{fmt.Sprintf("page %d (depth %s)", deepPage, num(float64(depth), 0)), fmt.Sprintf("%s?page=%d&per_page=%d", base, deepPage, perPage)},
		{"stats", base + "/stats"},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 30 * time.Second}
	for i, t := range targets {
		st, b, err := do(ctx, client, http.MethodGet, t.url, admin, "")
		if err != nil || st != http.StatusOK {
			return fmt.Errorf("GET %s: status %d %.300s: %v", t.url, st, b, err)
		}
		if i < 2 {
			var page struct {
				Data []json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(b, &page); err != nil || len(page.Data) != perPage {
				return fmt.Errorf("GET %s: %d items, want %d (%v)", t.url, len(page.Data), perPage, err)
			}
		}
		_ = os.WriteFile(filepath.Join(e.raw, fmt.Sprintf("list-response-%d.json", i)), b, 0o644)
		for w := 0; w < 20; w++ { // warm-up
			if _, _, err := do(ctx, client, http.MethodGet, t.url, admin, ""); err != nil {
				return err
			}
		}
	}
	p50 := make([]series, len(targets))
	p99 := make([]series, len(targets))
	logw, err := os.Create(filepath.Join(e.raw, "list-latency.log"))
	if err != nil {
		return err
	}
	defer logw.Close()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for run := 0; run < e.cfg.runs; run++ {
		for i, t := range targets {
			lat := make([]time.Duration, 0, e.cfg.requests)
			for k := 0; k < e.cfg.requests; k++ {
				t0 := time.Now()
				st, b, err := do(ctx, client, http.MethodGet, t.url, admin, "")
				if err != nil || st != http.StatusOK {
					return fmt.Errorf("GET %s: status %d %.300s: %v", t.url, st, b, err)
				}
				lat = append(lat, time.Since(t0))
			}
			sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
			p50[i] = append(p50[i], ms(percentile(lat, 50)))
			p99[i] = append(p99[i], ms(percentile(lat, 99)))
			fmt.Fprintf(logw, "run %d %s: %d requests p50 %.3f ms p99 %.3f ms max %.3f ms\n", run+1, t.name, len(lat), ms(percentile(lat, 50)), ms(percentile(lat, 99)), ms(lat[len(lat)-1]))
			logf("list: run %d %-20s p50 %.3f ms p99 %.3f ms", run+1, t.name, ms(percentile(lat, 50)), ms(percentile(lat, 99)))
		}
	}
	intro := fmt.Sprintf("A %s-session tenant restored from the seed's dump; %d sequential requests per figure and run over one keep-alive connection "+
		"(super-admin token), the three targets alternating; per_page=%d.", num(float64(e.cfg.n), 0), e.cfg.requests, perPage)
	rep.add(section{title: "4. Listing and stats", intro: intro, rows: []row{
		{figure: "list " + targets[0].name + " p50", unit: "ms", vals: p50[0], digits: 3},
		{figure: "list " + targets[1].name + " p50", unit: "ms", vals: p50[1], digits: 3, ratio: ratios(p50[1], p50[0]), ratioOf: "× page 1", aim: atMost(2, "≤ 2× page 1")},
		{figure: "list " + targets[0].name + " p99", unit: "ms", vals: p99[0], digits: 3},
		{figure: "list " + targets[1].name + " p99", unit: "ms", vals: p99[1], digits: 3, ratio: ratios(p99[1], p99[0]), ratioOf: "× page 1"},
		{figure: fmt.Sprintf("stats at %s sessions p50", num(float64(e.cfg.n), 0)), unit: "ms", vals: p50[2], digits: 3},
		{figure: fmt.Sprintf("stats at %s sessions p99", num(float64(e.cfg.n), 0)), unit: "ms", vals: p99[2], digits: 3},
	}})
	// The reloaded figure belongs to the memory section.
	for i := range rep.sections {
		if strings.HasPrefix(rep.sections[i].title, "5.") {
			rep.sections[i].rows = append(rep.sections[i].rows, row{
				figure: "bytes/session after a restart from the dump", unit: "B",
				vals: series{float64(reloaded-emptyBase) / float64(e.cfg.n)}, note: "used_memory after loading − empty server",
			})
		}
	}
	return nil
}
