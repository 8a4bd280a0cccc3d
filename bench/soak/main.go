// Command soak is a bounded soak test of sessiond: it starts its own
// redis-server on a loopback port and sessiond in-process on another, drives
// mixed traffic over HTTP for a fixed time with fixed concurrency, then
// cleans up and reports what it saw:
//
//	go run ./bench/soak -duration 60s
//
// The traffic: creates (a quarter with short TTLs, so that expiry runs too),
// forward-auth verifies, admin/tenant/own lists, tenant stats, activity,
// single revokes (admin, tenant, own) and bulk revokes (a user's sessions,
// admin revoke-all by user, a whole tenant), plus one SSE follower of the
// revocation stream. Any status outside what the request may answer (a
// verify of a session revoked meanwhile may be 401, a revoke of one revoked
// meanwhile 404) and any 5xx or transport error counts as an error.
//
// The report: requests, errors, p50 and p99 per request type; events the
// follower received against sessions the API said it revoked; Redis
// used_memory and key count at start, at the end of the load and after the
// cleanup (every remaining session revoked, short TTLs expired, a final
// sweep), with the drift and the keys left by prefix; the process's Go heap
// in use and goroutines before and after (the load generator shares the
// process). It exits 1 when there were errors, 2 when it could not run.
// redis-server must be installed (apt-get install -y redis-server).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/bench/internal/seed"
	"github.com/sessiond/sessiond/handlers"
	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/device"
	"github.com/sessiond/sessiond/pkg/events"
	"github.com/sessiond/sessiond/pkg/metrics"
	"github.com/sessiond/sessiond/redisstore"
)

type options struct {
	duration    time.Duration
	concurrency int
	tenants     int
	partners    int
	users       int
	shortTTL    time.Duration
	maxLive     int
	sweep       time.Duration
	warmup      time.Duration
	seed        uint64
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long to drive traffic")
	flag.IntVar(&o.concurrency, "concurrency", 16, "concurrent clients")
	flag.IntVar(&o.tenants, "tenants", 20, "tenants")
	flag.IntVar(&o.partners, "partners", 4, "partners the tenants are spread over")
	flag.IntVar(&o.users, "users", 10, "users per tenant")
	flag.DurationVar(&o.shortTTL, "short-ttl", 4*time.Second, "longest TTL of the short-lived sessions (a quarter of the creates)")
	flag.IntVar(&o.maxLive, "max-live", 5000, "live sessions above which creates give way to revokes")
	flag.DurationVar(&o.sweep, "sweep", 5*time.Second, "background sweep interval")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "traffic before the Go runtime's start figures (lazy initialisation, pools); not in the table")
	flag.Uint64Var(&o.seed, "seed", 0, "traffic seed (0: from the clock)")
	flag.Parse()
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	failed, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

var secret = []byte("soak-secret-soak-secret-soak-secret!")

// server is sessiond running in this process on a loopback port.
type server struct {
	url     string
	rdb     redis.UniversalClient
	store   *redisstore.Store
	srv     *http.Server
	closing chan struct{}
	stopBg  context.CancelFunc
	bg      sync.WaitGroup
	sweeps  atomic.Int64
	sweepEr atomic.Int64
}

func startServer(redisURL string, o options) (*server, error) {
	rdb, err := redisstore.Connect(redisstore.ConnectOptions{URL: redisURL, Timeout: 2 * time.Second})
	if err != nil {
		return nil, err
	}
	v, err := auth.NewVerifier(context.Background(), auth.Config{HS256Secret: secret})
	if err != nil {
		return nil, err
	}
	s := &server{rdb: rdb, closing: make(chan struct{})}
	s.store = redisstore.New(rdb, redisstore.Options{SweepLock: time.Second})
	broker := events.NewBroker(s.store, time.Second)
	router := handlers.New(handlers.Deps{
		Store: s.store, Verifier: v, MaxLifetime: handlers.DefaultMaxLifetime, DeviceOf: device.Classify,
		Events: s.store, Broker: broker, ShuttingDown: s.closing, Metrics: metrics.New("soak"),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
	s.srv.RegisterOnShutdown(func() { close(s.closing) })
	ctx, cancel := context.WithCancel(context.Background())
	s.stopBg = func() { cancel(); v.Close() }
	s.bg.Add(3)
	go func() { defer s.bg.Done(); broker.Run(ctx, nil) }()
	go func() {
		defer s.bg.Done()
		s.store.RunSweeper(ctx, o.sweep, func(_ redisstore.SweepResult, err error) {
			s.sweeps.Add(1)
			if err != nil && ctx.Err() == nil {
				s.sweepEr.Add(1)
			}
		})
	}()
	go func() { defer s.bg.Done(); _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *server) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	s.stopBg()
	s.bg.Wait()
	_ = s.rdb.Close()
}

// sample is what Redis and the Go runtime looked like at one moment.
type sample struct {
	usedMemory int64
	keys       int64
	heapInuse  uint64 // bytes in spans holding live objects
	heapAlloc  uint64 // bytes of live objects
	goroutines int
}

func measure(ctx context.Context, rdb redis.UniversalClient) (sample, error) {
	var s sample
	var err error
	if s.usedMemory, err = seed.UsedMemory(ctx, rdb); err != nil {
		return s, err
	}
	if s.keys, err = rdb.DBSize(ctx).Result(); err != nil {
		return s, err
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.heapInuse, s.heapAlloc, s.goroutines = ms.HeapInuse, ms.HeapAlloc, runtime.NumGoroutine()
	return s, nil
}

// live is one session the load knows of, with the token of its user.
type live struct {
	id, user, tenant string
	token            string
	expires          time.Time
}

// pool holds the sessions believed live, for random picks.
type pool struct {
	mu    sync.Mutex
	list  []*live
	index map[string]int
}

func (p *pool) add(s *live) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.index[s.id] = len(p.list)
	p.list = append(p.list, s)
}

func (p *pool) remove(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.index[id]
	if !ok {
		return
	}
	last := len(p.list) - 1
	p.list[i] = p.list[last]
	p.index[p.list[i].id] = i
	p.list = p.list[:last]
	delete(p.index, id)
}

// pick returns a random session not yet expired, nil when none is.
func (p *pool) pick(rng *rand.Rand, now time.Time) *live {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range 4 {
		if len(p.list) == 0 {
			return nil
		}
		s := p.list[rng.IntN(len(p.list))]
		if now.Before(s.expires) {
			return s
		}
		last := len(p.list) - 1
		i := p.index[s.id]
		p.list[i] = p.list[last]
		p.index[p.list[i].id] = i
		p.list = p.list[:last]
		delete(p.index, s.id)
	}
	return nil
}

func (p *pool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.list)
}

// stat collects one request type's outcomes.
type stat struct {
	mu        sync.Mutex
	latencies []time.Duration
	errors    int
	serverErr int
	examples  []string
}

// load is the traffic generator's shared state.
type load struct {
	o        options
	base     string
	client   *http.Client
	pool     *pool
	stats    map[string]*stat
	names    []string
	revoked  atomic.Int64 // sessions the API said it revoked
	created  atomic.Int64
	super    string
	service  string
	tadmin   map[string]string
	tenants  []string
	partner  map[string]string
	deadline time.Time
	lastWipe atomic.Int64 // unix nanoseconds of the last tenant revoke-all
}

var opNames = []string{
	"create", "verify", "list admin", "list tenant", "list me", "stats", "activity",
	"revoke admin", "revoke tenant", "revoke me", "revoke user (bulk)", "revoke-all admin (bulk)", "revoke-all tenant (bulk)",
	"cleanup revoke-all",
}

// weights of the request types, in opNames order. A whole tenant is
// revoked at most every tenantWipeEvery; the cleanup runs after the load.
var weights = []int{24, 30, 6, 6, 5, 5, 8, 2, 2, 2, 1, 1, 1, 0}

const tenantWipeEvery = 2 * time.Second

func token(o auth.MintOptions) string {
	o.TTL = 2 * time.Hour
	t, err := auth.MintHS256(secret, o)
	if err != nil {
		panic(err)
	}
	return t
}

// do sends one request and records it under op; ok lists the statuses the
// request may answer. It returns the status and body (nil on a transport
// error).
func (l *load) do(ctx context.Context, op, method, path, tok string, body any, ok ...int) (int, []byte) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(ctx, method, l.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	start := time.Now()
	resp, err := l.client.Do(req)
	var out []byte
	code := 0
	if err == nil {
		out, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		code = resp.StatusCode
	}
	d := time.Since(start)
	st := l.stats[op]
	st.mu.Lock()
	defer st.mu.Unlock()
	st.latencies = append(st.latencies, d)
	if err != nil || !slices.Contains(ok, code) {
		st.errors++
		if code >= 500 {
			st.serverErr++
		}
		if len(st.examples) < 3 {
			st.examples = append(st.examples, fmt.Sprintf("%s %s: %d %v %.200s", method, path, code, err, out))
		}
		return code, nil
	}
	return code, out
}

type revokeBody struct {
	Data struct {
		RevokedCount int      `json:"revoked_count"`
		SessionIDs   []string `json:"session_ids"`
	} `json:"data"`
}

func (l *load) revokedBulk(body []byte) {
	var r revokeBody
	if json.Unmarshal(body, &r) == nil {
		l.revoked.Add(int64(r.Data.RevokedCount))
		for _, id := range r.Data.SessionIDs {
			l.pool.remove(id)
		}
	}
}

func (l *load) create(ctx context.Context, rng *rand.Rand) {
	t := l.tenants[rng.IntN(len(l.tenants))]
	u := fmt.Sprintf("%s-u%d", t, rng.IntN(l.o.users))
	ttl := 600 + rng.IntN(3000)
	if rng.IntN(4) == 0 {
		ttl = 1 + rng.IntN(max(1, int(l.o.shortTTL/time.Second)))
	}
	body := map[string]any{
		"user_id": u, "tenant_id": t, "partner_id": l.partner[t], "ttl_seconds": ttl,
		"user_agent": userAgents[rng.IntN(len(userAgents))], "ip_address": fmt.Sprintf("198.51.100.%d", rng.IntN(250)+1),
	}
	code, out := l.do(ctx, "create", http.MethodPost, "/api/v1/internal/sessions", l.service, body, http.StatusCreated)
	if code != http.StatusCreated {
		return
	}
	var r struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if json.Unmarshal(out, &r) != nil {
		return
	}
	l.created.Add(1)
	l.pool.add(&live{id: r.Data.ID, user: u, tenant: t, expires: time.Now().Add(time.Duration(ttl)*time.Second - time.Second),
		token: token(auth.MintOptions{Subject: u, TenantID: t, SessionID: r.Data.ID})})
}

var userAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"curl/8.5.0",
	"Googlebot/2.1 (+http://www.google.com/bot.html)",
}

// step sends one request of a random type.
func (l *load) step(ctx context.Context, rng *rand.Rand, deck []int) {
	op := deck[rng.IntN(len(deck))]
	now := time.Now()
	s := l.pool.pick(rng, now)
	if op == 0 || s == nil || op >= 7 && op <= 12 && l.pool.size() < 200 {
		if l.pool.size() < l.o.maxLive || s == nil {
			l.create(ctx, rng)
			return
		}
		op = 7 + rng.IntN(6)
	}
	t := l.tenants[rng.IntN(len(l.tenants))]
	switch opNames[op] {
	case "verify":
		l.do(ctx, "verify", http.MethodGet, "/api/v1/auth/verify", s.token, nil, http.StatusOK, http.StatusUnauthorized)
	case "list admin":
		q := fmt.Sprintf("?per_page=%d&page=%d", 1+rng.IntN(100), 1+rng.IntN(3))
		if rng.IntN(2) == 0 {
			q += "&partner_id=" + l.partner[t]
		}
		l.do(ctx, "list admin", http.MethodGet, "/api/v1/admin/sessions"+q, l.super, nil, http.StatusOK)
	case "list tenant":
		l.do(ctx, "list tenant", http.MethodGet, "/api/v1/tenants/"+s.tenant+"/sessions?user_id="+s.user, l.tadmin[s.tenant], nil, http.StatusOK)
	case "list me":
		l.do(ctx, "list me", http.MethodGet, "/api/v1/me/sessions", s.token, nil, http.StatusOK)
	case "stats":
		l.do(ctx, "stats", http.MethodGet, "/api/v1/tenants/"+t+"/sessions/stats", l.tadmin[t], nil, http.StatusOK)
	case "activity":
		body := map[string]any{"application_id": fmt.Sprintf("app-%d", rng.IntN(20)), "application_name": "App"}
		l.do(ctx, "activity", http.MethodPost, "/api/v1/internal/sessions/"+s.id+"/activity", l.service, body, http.StatusNoContent, http.StatusNotFound)
	case "revoke admin":
		if code, _ := l.do(ctx, "revoke admin", http.MethodDelete, "/api/v1/admin/sessions/"+s.id, l.super, nil, http.StatusNoContent, http.StatusNotFound); code == http.StatusNoContent {
			l.revoked.Add(1)
		}
		l.pool.remove(s.id)
	case "revoke tenant":
		if code, _ := l.do(ctx, "revoke tenant", http.MethodDelete, "/api/v1/tenants/"+s.tenant+"/sessions/"+s.id, l.tadmin[s.tenant], nil, http.StatusNoContent, http.StatusNotFound); code == http.StatusNoContent {
			l.revoked.Add(1)
		}
		l.pool.remove(s.id)
	case "revoke me":
		if code, _ := l.do(ctx, "revoke me", http.MethodDelete, "/api/v1/me/sessions/"+s.id, s.token, nil, http.StatusOK, http.StatusNotFound); code == http.StatusOK {
			l.revoked.Add(1)
		}
		l.pool.remove(s.id)
	case "revoke user (bulk)":
		if code, out := l.do(ctx, "revoke user (bulk)", http.MethodPost, "/api/v1/tenants/"+s.tenant+"/sessions/users/"+s.user+"/revoke",
			l.tadmin[s.tenant], map[string]any{"revoke_all": true}, http.StatusOK); code == http.StatusOK {
			l.revokedBulk(out)
		}
	case "revoke-all admin (bulk)":
		if code, out := l.do(ctx, "revoke-all admin (bulk)", http.MethodPost, "/api/v1/admin/sessions/revoke-all",
			l.super, map[string]any{"user_id": s.user, "tenant_id": s.tenant}, http.StatusOK); code == http.StatusOK {
			l.revokedBulk(out)
		}
	case "revoke-all tenant (bulk)":
		last := l.lastWipe.Load()
		if now.UnixNano()-last < int64(tenantWipeEvery) || !l.lastWipe.CompareAndSwap(last, now.UnixNano()) {
			l.do(ctx, "stats", http.MethodGet, "/api/v1/tenants/"+t+"/sessions/stats", l.tadmin[t], nil, http.StatusOK)
			return
		}
		if code, out := l.do(ctx, "revoke-all tenant (bulk)", http.MethodPost, "/api/v1/tenants/"+t+"/sessions/revoke-all",
			l.tadmin[t], nil, http.StatusOK); code == http.StatusOK {
			l.revokedBulk(out)
		}
	}
}

// follower reads the revocation stream until ctx ends, resuming with
// Last-Event-ID after a dropped connection.
type follower struct {
	events     atomic.Int64
	reconnects atomic.Int64
	errs       atomic.Int64
	lastErr    atomic.Value
}

func (f *follower) run(ctx context.Context, base, tok string, ready chan<- struct{}) {
	last := ""
	first := true
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/internal/sessions/events", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "text/event-stream")
		if last != "" {
			req.Header.Set("Last-Event-ID", last)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
			_ = resp.Body.Close()
		}
		if err != nil {
			if ctx.Err() == nil {
				f.errs.Add(1)
				f.lastErr.Store(err.Error())
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == ": connected" && first:
				first = false
				close(ready)
			case strings.HasPrefix(line, "id: "):
				last = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				switch strings.TrimPrefix(line, "event: ") {
				case "reset", "error":
					f.errs.Add(1)
					f.lastErr.Store(line)
				default:
					f.events.Add(1)
				}
			}
		}
		_ = resp.Body.Close()
		if ctx.Err() == nil {
			f.reconnects.Add(1)
		}
	}
}

func run(o options) (failed bool, err error) {
	ctx := context.Background()
	rs, err := testredis.StartMain()
	if err != nil {
		return false, err
	}
	defer func() {
		if e := rs.Stop(); e != nil && err == nil {
			err = e
		}
	}()
	baseGoroutines := runtime.NumGoroutine()
	srv, err := startServer(rs.URL(0), o)
	if err != nil {
		return false, err
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.stop()
		}
	}()
	version, _ := srv.rdb.Info(ctx, "server").Result()
	for line := range strings.SplitSeq(version, "\r\n") {
		if v, ok := strings.CutPrefix(line, "redis_version:"); ok {
			version = v
		}
	}

	l := &load{
		o: o, base: srv.url, pool: &pool{index: map[string]int{}}, stats: map[string]*stat{},
		tadmin: map[string]string{}, partner: map[string]string{},
		client: &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * o.concurrency, MaxIdleConnsPerHost: 2 * o.concurrency}, Timeout: 10 * time.Second},
	}
	for _, n := range opNames {
		l.stats[n] = &stat{}
	}
	l.super = token(auth.MintOptions{Subject: "soak-root", Role: auth.RoleSuperAdmin})
	l.service = token(auth.MintOptions{Subject: "soak-idp", TokenType: auth.TokenTypeClientCredentials, Scope: "sessions:read sessions:write"})
	for i := range o.tenants {
		t := fmt.Sprintf("soak-t%02d", i)
		l.tenants = append(l.tenants, t)
		l.partner[t] = fmt.Sprintf("soak-p%d", i%o.partners)
		l.tadmin[t] = token(auth.MintOptions{Subject: "tadmin-" + t, Role: auth.RoleTenantAdmin, TenantID: t})
	}
	var deck []int
	for op, w := range weights {
		for range w {
			deck = append(deck, op)
		}
	}

	start, err := measure(ctx, srv.rdb)
	if err != nil {
		return false, err
	}
	fmt.Printf("soak: %s, %d clients, seed %d; redis-server %s on %s, sessiond in-process on %s\n",
		o.duration, o.concurrency, o.seed, version, rs.Addr(), strings.TrimPrefix(srv.url, "http://"))

	beforeFollower := runtime.NumGoroutine()
	fctx, stopFollower := context.WithCancel(ctx)
	defer stopFollower()
	var f follower
	ready := make(chan struct{})
	var fdone sync.WaitGroup
	fdone.Go(func() { f.run(fctx, srv.url, l.service, ready) })
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		stopFollower()
		return false, errors.New("the SSE follower did not connect within 5s")
	}
	time.Sleep(100 * time.Millisecond)
	followerGoroutines := runtime.NumGoroutine() - beforeFollower

	rngs := make([]*rand.Rand, o.concurrency)
	for i := range rngs {
		rngs[i] = rand.New(rand.NewPCG(o.seed, uint64(i)))
	}
	drive := func(d time.Duration) time.Duration {
		began := time.Now()
		l.deadline = began.Add(d)
		lctx, cancel := context.WithDeadline(ctx, l.deadline.Add(15*time.Second))
		defer cancel()
		var wg sync.WaitGroup
		for _, rng := range rngs {
			wg.Go(func() {
				for time.Now().Before(l.deadline) {
					l.step(lctx, rng, deck)
				}
			})
		}
		wg.Wait()
		return time.Since(began)
	}
	// Warm up, then forget the warm-up's figures (not its sessions).
	drive(o.warmup)
	for _, n := range opNames {
		l.stats[n] = &stat{}
	}
	l.client.CloseIdleConnections() // so that start and end count the same connections
	time.Sleep(200 * time.Millisecond)
	warm, err := measure(ctx, srv.rdb)
	if err != nil {
		return false, err
	}
	start.heapInuse, start.heapAlloc, start.goroutines = warm.heapInuse, warm.heapAlloc, warm.goroutines
	elapsed := drive(o.duration)
	endLoad, err := measure(ctx, srv.rdb)
	if err != nil {
		return false, err
	}
	liveAtEnd := l.pool.size()

	// Cleanup: revoke what is left, tenant by tenant, let the short TTLs run
	// out, then sweep once more.
	for _, t := range l.tenants {
		if code, out := l.do(ctx, "cleanup revoke-all", http.MethodPost, "/api/v1/tenants/"+t+"/sessions/revoke-all", l.tadmin[t], nil, http.StatusOK); code == http.StatusOK {
			l.revokedBulk(out)
		}
	}
	time.Sleep(o.shortTTL + 1500*time.Millisecond)
	res, err := srv.store.Sweep(ctx)
	if err != nil {
		return false, fmt.Errorf("final sweep: %w", err)
	}
	// Give the follower the last events, then stop it.
	want := l.revoked.Load()
	for wait := time.Now().Add(5 * time.Second); f.events.Load() < want && time.Now().Before(wait); {
		time.Sleep(50 * time.Millisecond)
	}
	stopFollower()
	fdone.Wait()
	l.client.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	time.Sleep(200 * time.Millisecond)
	keys, err := keysByPrefix(ctx, srv.rdb)
	if err != nil {
		return false, err
	}
	// The table's figures, then drop what the load generator holds, so that
	// the heap compares the server before and after.
	type row struct {
		name             string
		count, errs, e5x int
		p50, p99         string
		examples         []string
	}
	var rows []row
	for _, n := range opNames {
		st := l.stats[n]
		p50, p99 := percentiles(st.latencies)
		rows = append(rows, row{n, len(st.latencies), st.errors, st.serverErr, p50, p99, st.examples})
	}
	l.stats, l.pool = nil, nil
	final, err := measure(ctx, srv.rdb)
	if err != nil {
		return false, err
	}
	srv.stop()
	stopped = true
	runtime.GC()
	afterStop := runtime.NumGoroutine()

	// The report.
	fmt.Printf("\n%-24s %9s %7s %9s %9s\n", "request", "count", "errors", "p50", "p99")
	total, errs, serverErrs := 0, 0, 0
	for _, r := range rows {
		fmt.Printf("%-24s %9d %7d %9s %9s\n", r.name, r.count, r.errs, r.p50, r.p99)
		total += r.count
		errs += r.errs
		serverErrs += r.e5x
	}
	fmt.Printf("%-24s %9d %7d   (%.0f req/s during the load; %d 5xx)\n", "total", total, errs, float64(total)/elapsed.Seconds(), serverErrs)
	fmt.Printf("\nsessions: %d created, %d revoked through the API, %d believed live at the end of the load\n",
		l.created.Load(), l.revoked.Load(), liveAtEnd)
	fmt.Printf("SSE follower: %d events for %d revoked sessions, %d reconnects, %d errors\n",
		f.events.Load(), l.revoked.Load(), f.reconnects.Load(), f.errs.Load())
	fmt.Printf("sweeps: %d in the background (%d failed), final: %d tenants, %d pruned, %d reconciled\n",
		srv.sweeps.Load(), srv.sweepEr.Load(), res.Tenants, res.Pruned, res.Reconciled)
	fmt.Printf("\n%-20s %14s %14s %14s %12s\n", "", "start", "end of load", "after cleanup", "drift")
	fmt.Printf("%-20s %14s %14s %14s %12s\n", "redis used_memory", mib(start.usedMemory), mib(endLoad.usedMemory), mib(final.usedMemory), mibSigned(final.usedMemory-start.usedMemory))
	fmt.Printf("%-20s %14d %14d %14d %+12d\n", "redis keys", start.keys, endLoad.keys, final.keys, final.keys-start.keys)
	fmt.Printf("%-20s %14s %14s %14s %12s\n", "go heap in use", mib(int64(start.heapInuse)), mib(int64(endLoad.heapInuse)), mib(int64(final.heapInuse)), mibSigned(int64(final.heapInuse)-int64(start.heapInuse)))
	fmt.Printf("%-20s %14s %14s %14s %12s\n", "go heap live", mib(int64(start.heapAlloc)), mib(int64(endLoad.heapAlloc)), mib(int64(final.heapAlloc)), mibSigned(int64(final.heapAlloc)-int64(start.heapAlloc)))
	fmt.Printf("%-20s %14d %14d %14d %+12d\n", "goroutines", start.goroutines, endLoad.goroutines, final.goroutines, final.goroutines-start.goroutines)
	fmt.Printf("(Go figures: the whole process, server and load generator, after GC; start is after a %s warm-up;\n"+
		" start and end of load count the SSE follower's %d goroutines, after cleanup it has stopped)\n", o.warmup, followerGoroutines)
	fmt.Printf("goroutines after shutdown: %d (before start: %d)\n", afterStop, baseGoroutines)
	fmt.Printf("keys left after cleanup, by prefix (count, MEMORY USAGE): %s\n", keys)

	for _, r := range rows {
		for _, ex := range r.examples {
			fmt.Printf("error (%s): %s\n", r.name, ex)
		}
	}
	if e, ok := f.lastErr.Load().(string); ok {
		fmt.Printf("follower error: %s\n", e)
	}
	problems := []string{}
	if errs > 0 {
		problems = append(problems, fmt.Sprintf("%d request errors", errs))
	}
	if f.events.Load() != l.revoked.Load() {
		problems = append(problems, fmt.Sprintf("follower saw %d events for %d revocations", f.events.Load(), l.revoked.Load()))
	}
	if leftover := sessionKeys(keys); leftover > 0 {
		problems = append(problems, fmt.Sprintf("%d session keys left", leftover))
	}
	if len(problems) > 0 {
		fmt.Printf("\nFAIL: %s\n", strings.Join(problems, "; "))
		return true, nil
	}
	fmt.Println("\nok")
	return false, nil
}

// prefixes counts keys by their prefix up to the first ':', how many of
// them have no expiry (they stay until something deletes them), how many
// members of sorted sets have a score (an expiry) in the past, and the
// bytes MEMORY USAGE reports for them.
type prefixes map[string]*[4]int

func (p prefixes) String() string {
	if len(p) == 0 {
		return "none"
	}
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d (%s", k, p[k][0], kib(p[k][3]))
		if n := p[k][1]; n > 0 {
			fmt.Fprintf(&b, ", %d without expiry", n)
		}
		if n := p[k][2]; n > 0 {
			fmt.Fprintf(&b, ", %d expired members", n)
		}
		b.WriteString(")")
	}
	return b.String()
}

func keysByPrefix(ctx context.Context, rdb redis.UniversalClient) (prefixes, error) {
	out := prefixes{}
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		p, _, ok := strings.Cut(k, ":")
		if !ok {
			p = k
		}
		c := out[p+":"]
		if c == nil {
			c = new([4]int)
			out[p+":"] = c
		}
		c[0]++
		ttl, err := rdb.PTTL(ctx, k).Result()
		if err != nil {
			return nil, err
		}
		if ttl == -1 { // go-redis gives -1ns for "no expiry"
			c[1]++
		}
		if n, err := rdb.MemoryUsage(ctx, k, 0).Result(); err == nil { // SAMPLES 0: every element
			c[3] += int(n)
		}
		if typ, _ := rdb.Type(ctx, k).Result(); typ == "zset" {
			n, err := rdb.ZCount(ctx, k, "-inf", strconv.FormatInt(time.Now().UnixMilli(), 10)).Result()
			if err != nil {
				return nil, err
			}
			c[2] += int(n)
		}
	}
	return out, iter.Err()
}

// sessionKeys counts what only a live session may hold: its hash and id
// pointer.
func sessionKeys(p prefixes) int {
	n := 0
	for _, k := range []string{"s:", "sid:"} {
		if c := p[k]; c != nil {
			n += c[0]
		}
	}
	return n
}

func percentiles(ds []time.Duration) (string, string) {
	if len(ds) == 0 {
		return "-", "-"
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return round(at(0.50)), round(at(0.99))
}

func round(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func kib(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}

func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

func mibSigned(n int64) string { return fmt.Sprintf("%+.2f MiB", float64(n)/(1<<20)) }
