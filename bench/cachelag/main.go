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
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/config"
	"github.com/sessiond/sessiond/redisstore"
)

const secret = "cachelag-secret-cachelag-secret-0123456789"

func main() {
	n := flag.Int("n", 10000, "revocations to time")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "cachelag:", err)
		os.Exit(1)
	}
}

type instance struct {
	app  *app.App
	url  string
	stop func()
}

func start(ctx context.Context, redisURL string) (*instance, error) {
	rdb, err := redisstore.Connect(redisstore.ConnectOptions{URL: redisURL, Timeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	cfg.HS256Secret = secret
	cfg.HistoryRetention = 0
	a, err := app.New(ctx, app.Options{Config: cfg, Redis: rdb, BrokerWait: time.Second})
	if err != nil {
		return nil, err
	}
	tail, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.RunEvents(tail) })
	srv := httptest.NewServer(a.Handler)
	return &instance{app: a, url: srv.URL, stop: func() {
		a.StartShutdown()
		cancel()
		wg.Wait()
		srv.Close()
		a.Close()
		_ = rdb.Close()
	}}, nil
}

func run(n int) error {
	red, err := testredis.StartMain()
	if err != nil {
		return err
	}
	defer func() { _ = red.Stop() }()
	ctx := context.Background()
	a, err := start(ctx, red.URL(0))
	if err != nil {
		return err
	}
	defer a.stop()
	b, err := start(ctx, red.URL(0))
	if err != nil {
		return err
	}
	defer b.stop()
	svcOpts, err := auth.RoleOptions("service")
	if err != nil {
		return err
	}
	svc, _ := auth.MintHS256([]byte(secret), svcOpts)
	admin, _ := auth.MintHS256([]byte(secret), auth.MintOptions{Subject: "bench", Role: auth.RoleSuperAdmin})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}
	call := func(method, url, token, body string) (int, error) {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_ = res.Body.Close()
		return res.StatusCode, nil
	}
	lags := make([]time.Duration, 0, n)
	polls := 0
	for i := 0; i < n; i++ {
		sid := fmt.Sprintf("lag-%d", i)
		body := fmt.Sprintf(`{"id":%q,"user_id":"u1","tenant_id":"t1","ttl_seconds":3600}`, sid)
		if st, err := call(http.MethodPost, a.url+"/api/v1/internal/sessions", svc, body); err != nil || st != http.StatusCreated {
			return fmt.Errorf("create %s: %d %v", sid, st, err)
		}
		user, _ := auth.MintHS256([]byte(secret), auth.MintOptions{Subject: "u1", TenantID: "t1", SessionID: sid})
		// Warm B's cache: the second verify is answered from it.
		for w := 0; w < 2; w++ {
			if st, err := call(http.MethodGet, b.url+"/api/v1/auth/verify", user, ""); err != nil || st != http.StatusOK {
				return fmt.Errorf("verify %s on B: %d %v", sid, st, err)
			}
		}
		if st, err := call(http.MethodDelete, a.url+"/api/v1/tenants/t1/sessions/"+sid, admin, ""); err != nil || st != http.StatusNoContent {
			return fmt.Errorf("revoke %s on A: %d %v", sid, st, err)
		}
		revoked := time.Now()
		for {
			polls++
			st, err := call(http.MethodGet, b.url+"/api/v1/auth/verify", user, "")
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
