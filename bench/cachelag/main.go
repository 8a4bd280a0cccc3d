// Command cachelag measures how long a revocation made on one sessiond
// instance takes to be refused by another instance's verify cache: two
// instances (internal/app, as cmd/sessiond wires them) on one real
// redis-server it starts on a loopback port, each with its verify cache and
// its revocation tail. For each of -n sessions it warms instance B's cache,
// revokes the session through instance A, then polls B's verify until it
// answers 401. It prints p50, p99 and max. Run by hand:
//
//	go run ./bench/cachelag -n 10000
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/sessiond/sessiond/bench/internal/seed"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/config"
	"github.com/sessiond/sessiond/redisstore"
)

func main() {
	n := flag.Int("n", 10000, "revocations to time")
	flag.Parse()
	seed.Main("cachelag", func() error { return run(*n) })
}

// start starts an instance on its own client of the Redis at redisURL.
func start(ctx context.Context, redisURL string) (*seed.Instance, func(), error) {
	rdb, err := redisstore.Connect(redisstore.ConnectOptions{URL: redisURL, Timeout: 5 * time.Second})
	if err != nil {
		return nil, nil, err
	}
	cfg := config.Default()
	cfg.HistoryRetention = 0
	in, err := seed.StartApp(ctx, app.Options{Config: cfg, Redis: rdb, BrokerWait: time.Second}, false)
	if err != nil {
		_ = rdb.Close()
		return nil, nil, err
	}
	return in, func() { in.Stop(); _ = rdb.Close() }, nil
}

func run(n int) error {
	red, err := testredis.StartMain()
	if err != nil {
		return err
	}
	defer func() { _ = red.Stop() }()
	ctx := context.Background()
	a, stopA, err := start(ctx, red.URL(0))
	if err != nil {
		return err
	}
	defer stopA()
	b, stopB, err := start(ctx, red.URL(0))
	if err != nil {
		return err
	}
	defer stopB()
	svcOpts, err := auth.RoleOptions("service")
	if err != nil {
		return err
	}
	svc, admin := seed.Mint(svcOpts), seed.Mint(seed.Admin)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}
	call := func(method, url, token, body string) (int, error) { return seed.Call(client, method, url, token, body) }
	lags := make([]time.Duration, 0, n)
	polls := 0
	for i := 0; i < n; i++ {
		sid := fmt.Sprintf("lag-%d", i)
		body := fmt.Sprintf(`{"id":%q,"user_id":"u1","tenant_id":"t1","ttl_seconds":3600}`, sid)
		if st, err := call(http.MethodPost, a.URL+"/api/v1/internal/sessions", svc, body); err != nil || st != http.StatusCreated {
			return fmt.Errorf("create %s: %d %v", sid, st, err)
		}
		user := seed.Mint(auth.MintOptions{Subject: "u1", TenantID: "t1", SessionID: sid})
		// Warm B's cache: the second verify is answered from it.
		for w := 0; w < 2; w++ {
			if st, err := call(http.MethodGet, b.URL+"/api/v1/auth/verify", user, ""); err != nil || st != http.StatusOK {
				return fmt.Errorf("verify %s on B: %d %v", sid, st, err)
			}
		}
		if st, err := call(http.MethodDelete, a.URL+"/api/v1/tenants/t1/sessions/"+sid, admin, ""); err != nil || st != http.StatusNoContent {
			return fmt.Errorf("revoke %s on A: %d %v", sid, st, err)
		}
		revoked := time.Now()
		for {
			polls++
			st, err := call(http.MethodGet, b.URL+"/api/v1/auth/verify", user, "")
			if err != nil {
				return err
			}
			if st == http.StatusUnauthorized {
				lags = append(lags, time.Since(revoked))
				break
			}
			if time.Since(revoked) > 10*time.Second {
				return fmt.Errorf("B still verifies %s 10s after its revocation", sid)
			}
		}
	}
	slices.Sort(lags)
	q := func(p float64) time.Duration { return lags[min(len(lags)-1, int(p*float64(len(lags))))] }
	fmt.Printf("revocations: %d (cache max age %v); B's verify polls: %d\n", n, config.Default().VerifyCacheMaxAge, polls)
	fmt.Printf("cross-instance invalidation lag: p50 %v p99 %v max %v\n",
		q(0.50).Round(time.Microsecond), q(0.99).Round(time.Microsecond), lags[len(lags)-1].Round(time.Microsecond))
	return nil
}
