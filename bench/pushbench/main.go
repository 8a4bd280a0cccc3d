// Command pushbench measures revocation push on one instance (internal/app,
// as cmd/sessiond wires it) and a real redis-server it starts on loopback:
// a tenant of -n sessions with one CAEP receiver (an HTTPS server in this
// process that answers 200), a REST revoke-all of the tenant, then
//
//   - how long the revoke-all answer took (push must not block it);
//   - deliveries per second until the receiver has every session;
//   - the lag from each revocation to the receiver's 200, p50 and p99;
//   - verify throughput (32 concurrent clients, in-process HTTP) while the
//     deliveries run, against the same before the burst.
//
// Run by hand: go run ./bench/pushbench -n 100000
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessiond/sessiond/bench/internal/seed"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/config"
	"github.com/sessiond/sessiond/pkg/signing"
)

func main() {
	n := flag.Int("n", 100000, "sessions revoked at once")
	flag.Parse()
	seed.Main("pushbench", func() error { return run(*n) })
}

func run(n int) error {
	_, rdb, stop, err := seed.StartRedis()
	if err != nil {
		return err
	}
	defer stop()
	ctx := context.Background()

	// The receiver: records when each session's SET arrived.
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	rp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(string(body), claims); err == nil {
			if txn, ok := claims["txn"].(string); ok {
				mu.Lock()
				if _, seen := arrived[txn]; !seen {
					arrived[txn] = time.Now()
				}
				mu.Unlock()
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer rp.Close()
	pool := x509.NewCertPool()
	pool.AddCert(rp.Certificate())

	k, _ := signing.GenerateKey()
	keys, _ := signing.NewKeySet(k, nil, time.Time{}, nil)
	cfg := config.Default()
	cfg.HistoryRetention, cfg.EventRetention = 0, n+1000
	srv, err := seed.StartApp(ctx, app.Options{Config: cfg, Redis: rdb, Signing: keys, PushTLS: &tls.Config{RootCAs: pool}}, true)
	if err != nil {
		return err
	}
	defer srv.Stop()

	admin := seed.Mint(seed.Admin)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 5 * time.Minute}
	call := func(method, path, token, body string) (int, error) {
		return seed.Call(client, method, srv.URL+path, token, body)
	}
	if st, err := call(http.MethodPost, "/api/v1/tenants/tp/sessions/receivers", admin,
		fmt.Sprintf(`{"url":%q,"kind":"caep","audience":"rp"}`, rp.URL+"/caep")); err != nil || st != http.StatusCreated {
		return fmt.Errorf("add receiver: %d %v", st, err)
	}
	shape := seed.Shape{Tenant: "tp", Partner: "p1", PerUser: 5, UserFormat: "user-%06d"}
	if err := seed.Create(ctx, srv.Store, shape, n, 32, nil); err != nil {
		return err
	}
	// A live session to verify, outside the revoked tenant.
	if st, err := call(http.MethodPost, "/api/v1/internal/sessions", mustService(), `{"id":"v1","user_id":"u1","tenant_id":"tv","ttl_seconds":3600}`); err != nil || st != http.StatusCreated {
		return fmt.Errorf("create the verified session: %d %v", st, err)
	}
	user := seed.Mint(auth.MintOptions{Subject: "u1", TenantID: "tv", SessionID: "v1"})
	time.Sleep(2 * time.Second) // the push group exists before the burst
	before := verifyRate(srv.URL, user, 5*time.Second)

	start := time.Now()
	if st, err := call(http.MethodPost, "/api/v1/tenants/tp/sessions/revoke-all", admin, ""); err != nil || st != http.StatusOK {
		return fmt.Errorf("revoke-all: %d %v", st, err)
	}
	revokeTook := time.Since(start)
	during := verifyRate(srv.URL, user, 5*time.Second)
	for {
		mu.Lock()
		got := len(arrived)
		mu.Unlock()
		if got >= n {
			break
		}
		if time.Since(start) > 15*time.Minute {
			return fmt.Errorf("only %d of %d delivered after 15 minutes", got, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	deliveredIn := time.Since(start)
	// The lag: from each event's revocation time (in its id: ms) to arrival.
	var lags []time.Duration
	mu.Lock()
	for txn, at := range arrived {
		var ms int64
		if _, err := fmt.Sscanf(txn, "%d-", &ms); err == nil {
			lags = append(lags, at.Sub(time.UnixMilli(ms)))
		}
	}
	mu.Unlock()
	slices.Sort(lags)
	q := func(p float64) time.Duration { return lags[min(len(lags)-1, int(p*float64(len(lags))))] }
	fmt.Printf("sessions revoked: %d; revoke-all answered in %v\n", n, revokeTook.Round(time.Millisecond))
	fmt.Printf("all delivered %v after the revoke-all began: %.0f deliveries/s (one instance, one receiver)\n",
		deliveredIn.Round(time.Millisecond), float64(n)/deliveredIn.Seconds())
	fmt.Printf("lag revocation -> receiver's 200: p50 %v p99 %v max %v\n", q(0.5).Round(time.Millisecond), q(0.99).Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond))
	fmt.Printf("verify req/s (32 clients, in-process): %.0f before the burst, %.0f while it was delivered (%.2f x)\n", before, during, during/before)
	return nil
}

func mustService() string {
	o, _ := auth.RoleOptions("service")
	return seed.Mint(o)
}

// verifyRate runs 32 clients verifying token for d and returns req/s.
func verifyRate(base, token string, d time.Duration) float64 {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var ok atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/auth/verify", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := c.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(ok.Load()) / d.Seconds()
}
