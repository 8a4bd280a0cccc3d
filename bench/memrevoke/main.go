// Command memrevoke measures two figures of the Sessions API on a real
// redis-server it starts itself on a loopback port: Redis memory per session
// (used_memory delta ÷ sessions, with every index) for sessions with a
// realistic 110-byte user agent, and the wall time to revoke a whole tenant
// through the REST endpoint. It is run by hand, never by the test suite:
//
//	go run ./bench/memrevoke -n 100000
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sessiond/sessiond/bench/internal/seed"
	"github.com/sessiond/sessiond/redisstore"
)

func main() {
	n := flag.Int("n", 100000, "sessions in the tenant")
	workers := flag.Int("workers", 32, "concurrent creators")
	listpack := flag.Int("listpack-value", 0, "hash-max-listpack-value to set (0 = Redis default)")
	history := flag.Duration("history", 0, "SESSIOND_HISTORY_RETENTION of the store (0 = history off); its cap is set to n")
	flag.Parse()
	seed.Main("memrevoke", func() error { return run(*n, *workers, *listpack, *history) })
}

func run(n, workers, listpack int, history time.Duration) error {
	ctx := context.Background()
	config := ""
	if listpack > 0 {
		config = "hash-max-listpack-value=" + strconv.Itoa(listpack)
	}
	rdb, stop, err := seed.StartPool(ctx, workers+4, config)
	if err != nil {
		return err
	}
	defer stop()
	st := redisstore.New(rdb, redisstore.Options{HistoryRetention: history, HistoryMax: n})
	base, err := seed.UsedMemory(ctx, rdb)
	if err != nil {
		return err
	}

	start := time.Now()
	shape := seed.Shape{Tenant: "tenant-big", Partner: "partner-1", PerUser: 5, UserFormat: "user-%06d"}
	if err := seed.Create(ctx, st, shape, n, workers, nil); err != nil {
		return err
	}
	created := time.Since(start)
	after, err := seed.UsedMemory(ctx, rdb)
	if err != nil {
		return err
	}
	fmt.Printf("sessions: %d (user agent %d bytes, hash-max-listpack-value %s)\n", n, len(seed.UserAgent), seed.ConfigGet(ctx, rdb, "hash-max-listpack-value"))
	fmt.Printf("create via store: %v (%.0f sessions/s with %d workers)\n", created.Round(time.Millisecond), float64(n)/created.Seconds(), workers)
	fmt.Printf("used_memory delta: %d bytes = %.0f bytes/session\n", after-base, float64(after-base)/float64(n))

	web, err := seed.Serve(ctx, st)
	if err != nil {
		return err
	}
	defer web.Close()
	req, _ := http.NewRequest(http.MethodPost, web.URL+"/api/v1/tenants/tenant-big/sessions/revoke-all", strings.NewReader(""))
	req.Header.Set("Authorization", "Bearer "+web.Admin)
	start = time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	buf := make([]byte, 64)
	nr, _ := resp.Body.Read(buf)
	resp.Body.Close()
	took := time.Since(start)
	left, _ := rdb.ZCard(ctx, "ix:{tenant-big}:all").Result()
	final, _ := seed.UsedMemory(ctx, rdb)
	fmt.Printf("revoke-all via REST: status %d in %v (%.0f sessions/s), %d left in the tenant index; body starts %q\n",
		resp.StatusCode, took.Round(time.Millisecond), float64(n)/took.Seconds(), left, buf[:nr])
	fmt.Printf("used_memory after revoke: %d bytes above the empty baseline (the revocation event stream, capped by SESSIOND_EVENT_RETENTION, plus allocator overhead)\n", final-base)
	if history > 0 {
		// The same revoke-all with history off leaves the stream alone:
		// what is above it here is the ended records and their indexes.
		fmt.Printf("history %v: %.0f bytes per revoked session still above the baseline (ended record, its indexes, its share of the stream and audit)\n",
			history, float64(final-base)/float64(n))
	}
	return nil
}
