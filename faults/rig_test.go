//go:build unix

package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/handlers"
	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/config"
	"github.com/sessiond/sessiond/pkg/session"
	"github.com/sessiond/sessiond/redisstore"
)

// testSecret signs every token the tests mint.
var testSecret = testserver.Secret

// clientTimeout bounds every HTTP request a test sends: a request that
// reaches it has hung, which the tests report as such.
const clientTimeout = 10 * time.Second

// redisTimeout is ConnectOptions.Timeout in these tests.
const redisTimeout = 500 * time.Millisecond

// rig is the real router on a Store, served over loopback HTTP.
type rig struct {
	store  *redisstore.Store
	srv    *testserver.Server
	tr     *http.Transport
	client *http.Client

	closeOnce sync.Once
	history   bool // revoked sessions stay readable, as revoked

	admin   string // super admin token
	service string // service token (sessions:read sessions:write)
}

// rigConfig changes how newRig builds the router.
type rigConfig struct {
	// waitReplicas and waitTimeout are SESSIOND_REDIS_WAIT_REPLICAS and
	// SESSIOND_REDIS_WAIT_TIMEOUT.
	waitReplicas int
	waitTimeout  time.Duration
	// history keeps revoked sessions (SESSIOND_HISTORY_RETENTION 1h); off
	// otherwise, so a revoked session reads as 404 as in the reference.
	history bool
	// events runs a Broker and serves the revocation stream.
	events bool
}

// newRig builds handlers.New on a Store on rdb (which the caller owns and
// closes) and serves it on an httptest server, closed by close or at the end
// of the test.
func newRig(tb testing.TB, rdb redis.UniversalClient, cfg rigConfig) *rig {
	tb.Helper()
	srv := testserver.New(tb, rdb, testserver.Options{
		Events: cfg.events, Serve: true,
		Config: func(c *config.Config) {
			c.RedisWaitReplicas, c.RedisWaitTimeout = cfg.waitReplicas, cfg.waitTimeout
			c.HistoryRetention = 0
			if cfg.history {
				c.HistoryRetention = time.Hour
			}
		},
		// A short keep-alive tells a stream reader that the backlog is drained.
		Deps: func(d *handlers.Deps) { d.KeepAlive = 100 * time.Millisecond },
	})
	r := &rig{store: srv.Store, srv: srv, history: cfg.history}
	r.tr = &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	r.client = &http.Client{Transport: r.tr, Timeout: clientTimeout}
	r.admin = mint(tb, auth.MintOptions{Subject: "root", Role: auth.RoleSuperAdmin})
	svc, err := auth.RoleOptions("service")
	if err != nil {
		tb.Fatalf("RoleOptions: %v", err)
	}
	r.service = mint(tb, svc)
	tb.Cleanup(r.close)
	return r
}

// close ends the event streams, the HTTP server and client, the broker and
// the verifier. It is idempotent.
func (r *rig) close() {
	r.closeOnce.Do(func() {
		r.srv.StartShutdown()
		r.tr.CloseIdleConnections()
		r.srv.Close()
		r.tr.CloseIdleConnections()
	})
}

// mint signs a token for o. It may be called from load goroutines, so a
// failure is reported with Errorf (the empty token then fails every request).
func mint(tb testing.TB, o auth.MintOptions) string {
	tb.Helper()
	if o.TTL == 0 {
		o.TTL = 2 * time.Hour
	}
	tok, err := auth.MintHS256(testSecret, o)
	if err != nil {
		tb.Errorf("MintHS256: %v", err)
	}
	return tok
}

// connect is a client made the way cmd/sessiond makes one, closed at the end
// of the test (Close is idempotent enough for an earlier explicit close).
func connect(tb testing.TB, o redisstore.ConnectOptions) redis.UniversalClient {
	tb.Helper()
	rdb, err := redisstore.Connect(o)
	if err != nil {
		tb.Fatalf("redisstore.Connect(%+v): %v", o, err)
	}
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// result is one HTTP exchange.
type result struct {
	status     int
	body       []byte
	start, end time.Time
	err        error // transport error or client timeout: the request hung or failed
}

func (r result) dur() time.Duration { return r.end.Sub(r.start) }

func (r result) String() string {
	if r.err != nil {
		return fmt.Sprintf("error after %s: %v", r.dur(), r.err)
	}
	return fmt.Sprintf("%d after %s: %s", r.status, r.dur(), bytes.TrimSpace(r.body))
}

// do sends one request with a bearer token and a JSON body (nil: none).
func (r *rig) do(method, path, token string, body any) result {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return result{err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.srv.URL+path, rd)
	if err != nil {
		return result{err: err}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res := result{start: time.Now()}
	resp, err := r.client.Do(req)
	if err != nil {
		res.end, res.err = time.Now(), err
		return res
	}
	res.body, res.err = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	res.end, res.status = time.Now(), resp.StatusCode
	return res
}

// sess is a session the test created, with a token of its user naming it.
type sess struct {
	ID, Tenant, User, Partner string
	// Token names the session and its tenant (verify reads the tenant slot
	// directly); PointerToken leaves the tenant out (verify goes through the
	// id pointer).
	Token, PointerToken string
}

// create makes a session through POST /api/v1/internal/sessions.
func (r *rig) create(tb testing.TB, tenant, user, partner, device string) (sess, result) {
	return r.createID(tb, "", tenant, user, partner, device)
}

// createID is create with the session id chosen by the caller ("": by the
// server). The returned sess is filled in even when the create failed, so
// that the caller can check later whether it happened anyway.
func (r *rig) createID(tb testing.TB, id, tenant, user, partner, device string) (sess, result) {
	body := map[string]any{"user_id": user, "tenant_id": tenant, "ttl_seconds": 3600}
	if id != "" {
		body["id"] = id
	}
	if partner != "" {
		body["partner_id"] = partner
	}
	if device != "" {
		body["device_type"] = device
	}
	res := r.do(http.MethodPost, "/api/v1/internal/sessions", r.service, body)
	if res.err == nil && res.status == http.StatusCreated {
		var env struct {
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(res.body, &env); err != nil || env.Data.ID == "" || (id != "" && env.Data.ID != id) {
			res.err = fmt.Errorf("create: bad body %q: %v", res.body, err)
			return sess{}, res
		}
		id = env.Data.ID
	}
	if id == "" {
		return sess{}, res
	}
	s := sess{ID: id, Tenant: tenant, User: user, Partner: partner}
	s.Token = mint(tb, auth.MintOptions{Subject: user, TenantID: tenant, SessionID: s.ID})
	s.PointerToken = mint(tb, auth.MintOptions{Subject: user, SessionID: s.ID})
	return s, res
}

// mustCreate is create that fails the test unless the answer is 201.
func (r *rig) mustCreate(tb testing.TB, tenant, user, partner, device string) sess {
	tb.Helper()
	s, res := r.create(tb, tenant, user, partner, device)
	if res.err != nil || res.status != http.StatusCreated {
		tb.Fatalf("create %s/%s: %v", tenant, user, res)
	}
	return s
}

func (r *rig) verify(token string) result {
	return r.do(http.MethodGet, "/api/v1/auth/verify", token, nil)
}

func (r *rig) tenantGet(s sess) result {
	return r.do(http.MethodGet, "/api/v1/tenants/"+s.Tenant+"/sessions/"+s.ID, r.admin, nil)
}

func (r *rig) adminGet(s sess) result {
	return r.do(http.MethodGet, "/api/v1/admin/sessions/"+s.ID, r.admin, nil)
}

func (r *rig) revokeOne(s sess) result {
	return r.do(http.MethodDelete, "/api/v1/tenants/"+s.Tenant+"/sessions/"+s.ID, r.admin, nil)
}

func (r *rig) list(tenant string) result {
	return r.do(http.MethodGet, "/api/v1/tenants/"+tenant+"/sessions?per_page=100", r.admin, nil)
}

// revokedIDs decodes {data: {revoked_count, session_ids}}. It may be called
// from load goroutines, so a bad body is reported with Errorf.
func revokedIDs(tb testing.TB, res result) []string {
	tb.Helper()
	var env struct {
		Data struct {
			Count int      `json:"revoked_count"`
			IDs   []string `json:"session_ids"`
		} `json:"data"`
	}
	if err := json.Unmarshal(res.body, &env); err != nil || env.Data.Count != len(env.Data.IDs) {
		tb.Errorf("revoke answer %q: %v", res.body, err)
		return nil
	}
	return env.Data.IDs
}

// listPage decodes a page's ids and pagination.total_items.
func listPage(tb testing.TB, res result) (ids []string, total int64) {
	tb.Helper()
	var env struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
		Pagination struct {
			TotalItems int64 `json:"total_items"`
		} `json:"pagination"`
	}
	if err := json.Unmarshal(res.body, &env); err != nil {
		tb.Fatalf("list answer %q: %v", res.body, err)
	}
	for _, d := range env.Data {
		ids = append(ids, d.ID)
	}
	return ids, env.Pagination.TotalItems
}

// event is one revocation event read from the SSE stream.
type event struct {
	ID        string
	SessionID string
	Reason    string
}

// readEvents follows GET /api/v1/internal/sessions/events from after lastID
// ("0": the start of the log) until the backlog is drained (the first
// keep-alive comment) and returns the revocation events it got.
func (r *rig) readEvents(tb testing.TB, lastID string) []event {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		r.srv.URL+"/api/v1/internal/sessions/events?last_event_id="+url.QueryEscape(lastID), nil)
	if err != nil {
		tb.Fatalf("events request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+r.service)
	resp, err := r.client.Do(req)
	if err != nil {
		tb.Fatalf("events: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		tb.Fatalf("events: %d %s", resp.StatusCode, b)
	}
	var out []event
	var typ, id string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == ": keep-alive":
			return out
		case strings.HasPrefix(line, "id: "):
			id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			typ = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if typ != session.EventRevoked {
				tb.Fatalf("events: unexpected %q event: %s", typ, line)
			}
			var d struct {
				SessionID string `json:"session_id"`
				Reason    string `json:"reason"`
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d); err != nil {
				tb.Fatalf("events: %q: %v", line, err)
			}
			out = append(out, event{ID: id, SessionID: d.SessionID, Reason: d.Reason})
		case line == "":
			typ = ""
		}
	}
	tb.Fatalf("events: stream ended before the backlog was drained (%d events so far): %v", len(out), sc.Err())
	return nil
}

// percentile returns the p-th percentile (0..100, nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(len(s)-1, i))]
}

// recorder collects results from concurrent workers.
type recorder struct {
	mu  sync.Mutex
	all []record
}

// record is one request of a load test.
type record struct {
	kind string
	result
	// revokedBefore: a verify of a session whose revocation was acknowledged
	// before the verify started; it must never answer 200.
	revokedBefore bool
}

// load is the workers of a load test.
type load struct {
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

func newLoad() *load { return &load{stop: make(chan struct{})} }

// worker calls fn(0), fn(1), … in a goroutine of its own, pause apart,
// until end.
func (l *load) worker(pause time.Duration, fn func(i int)) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			case <-time.After(pause):
			}
			fn(i)
		}
	}()
}

// end stops the workers and waits for them; later calls do nothing more.
func (l *load) end() {
	l.stopOnce.Do(func() { close(l.stop) })
	l.wg.Wait()
}

// tally checks the records of a load test one by one and sums them up.
type tally struct {
	counts map[string]map[int]int // by kind and status
	maxDur time.Duration
}

// check counts x and fails t when x got no answer, took longer than
// maxRequest, answered 200 to a verify of a session revoked before it
// started, or answered a status not in ok. fault and at name the fault the
// test injected, for messages. It reports whether x got an answer.
func (ta *tally) check(t *testing.T, x record, ok []int, fault string, at time.Time) bool {
	t.Helper()
	if ta.counts == nil {
		ta.counts = map[string]map[int]int{}
	}
	if ta.counts[x.kind] == nil {
		ta.counts[x.kind] = map[int]int{}
	}
	ta.counts[x.kind][x.status]++
	ta.maxDur = max(ta.maxDur, x.dur())
	switch {
	case x.err != nil:
		t.Errorf("%s: %v", x.kind, x.result)
		return false
	case x.dur() > maxRequest:
		t.Errorf("%s took %s (bound %s): %v", x.kind, x.dur(), maxRequest, x.result)
	case x.kind == "verify" && x.revokedBefore && x.status == http.StatusOK:
		t.Errorf("verify of a session whose revocation was acknowledged before it started answered 200 (started %s after %s)", x.start.Sub(at), fault)
	}
	if !slices.Contains(ok, x.status) {
		t.Errorf("%s answered %v (want one of %v)", x.kind, x.result, ok)
	}
	return true
}

func (rc *recorder) add(r record) {
	rc.mu.Lock()
	rc.all = append(rc.all, r)
	rc.mu.Unlock()
}

func (rc *recorder) snapshot() []record {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.all)
}
