// Command ratelat sends GET requests to one URL at a fixed rate (open
// loop) for a while and reports the latency percentiles, each request's
// latency counted from the time it was due, not from when a connection was
// free (so a stall is not hidden: no coordinated omission). wrk drives a
// server as fast as it answers, which compares two servers' tails at
// different rates; ratelat compares them at the same rate. It is run by
// bench/verify.sh when RATE is set, and by hand:
//
//	go run ./bench/ratelat -url http://127.0.0.1:9090/api/v1/auth/verify -token T -rate 10000 -duration 10s
//
// Loopback only in practice; it stops by itself after -duration.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/sessiond/sessiond/bench/internal/seed"
)

type config struct {
	url, token string
	rate       int
	duration   time.Duration
	conns      int
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", "", "the URL to GET")
	flag.StringVar(&c.token, "token", "", "bearer token (none when empty)")
	flag.IntVar(&c.rate, "rate", 10000, "requests per second")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "how long to send")
	flag.IntVar(&c.conns, "conns", 64, "connections (concurrent requests at most)")
	flag.Parse()
	seed.Main("ratelat", func() error { return run(c) })
}

// result is one request: how late it finished after it was due, and
// whether it failed.
type result struct {
	latency time.Duration
	failed  bool
}

func run(c config) error {
	if c.url == "" || c.rate < 1 || c.conns < 1 || c.duration <= 0 {
		return fmt.Errorf("-url, a positive -rate, -conns and -duration are needed")
	}
	tr := &http.Transport{MaxIdleConnsPerHost: c.conns, MaxConnsPerHost: c.conns}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	total := int(c.duration.Seconds() * float64(c.rate))
	due := make(chan time.Time, total)
	results := make(chan result, total)
	var wg sync.WaitGroup
	for range c.conns {
		wg.Go(func() {
			for at := range due {
				results <- send(client, c, at)
			}
		})
	}
	start := time.Now().Add(10 * time.Millisecond)
	interval := time.Second / time.Duration(c.rate)
	for i := range total {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > time.Millisecond {
			time.Sleep(d)
		}
		due <- at
	}
	close(due)
	wg.Wait()
	close(results)
	return report(c, results, time.Since(start))
}

// send makes one request due at at.
func send(client *http.Client, c config, at time.Time) result {
	if d := time.Until(at); d > 0 {
		time.Sleep(d)
	}
	req, err := http.NewRequest(http.MethodGet, c.url, nil)
	if err != nil {
		return result{failed: true}
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := client.Do(req)
	if err != nil {
		return result{latency: time.Since(at), failed: true}
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return result{latency: time.Since(at), failed: res.StatusCode != http.StatusOK}
}

// report prints one line: RESULT req/s p50_ms p99_ms errors.
func report(c config, results <-chan result, took time.Duration) error {
	var lat []time.Duration
	errors := 0
	for r := range results {
		lat = append(lat, r.latency)
		if r.failed {
			errors++
		}
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
	}
	fmt.Printf("RESULT %.0f %.3f %.3f %d\n", float64(len(lat))/took.Seconds(), at(0.50), at(0.99), errors)
	return nil
}
