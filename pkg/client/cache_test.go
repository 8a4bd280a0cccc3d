package client_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/client"
)

// drop is one revocation a CachingVerifier applied.
type drop struct {
	sid     string
	entries int
	at      time.Time
}

// cacheRun is a running CachingVerifier of an env.
type cacheRun struct {
	v     *client.CachingVerifier
	drops chan drop
	stop  func() error
}

// startCache runs a CachingVerifier that verifies through e's API server
// (counted by e.counter) and follows the event stream of o.EventsClient (on
// e's second server when nil), and waits until the stream is connected.
func startCache(tb testing.TB, e *env, o client.CacheOptions) *cacheRun {
	tb.Helper()
	if o.EventsClient == nil {
		o.EventsClient = e.eventsClient(tb)
	}
	if o.ReconnectBackoff == 0 {
		o.ReconnectBackoff = 20 * time.Millisecond
	}
	r := &cacheRun{v: client.NewCachingVerifier(e.anon, o), drops: make(chan drop, 4096)}
	client.SetDropHook(r.v, func(sid string, n int) {
		select {
		case r.drops <- drop{sid, n, time.Now()}:
		default:
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.v.Run(ctx) }()
	var once sync.Once
	var runErr error
	r.stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	tb.Cleanup(func() { _ = r.stop() })
	testserver.WaitFor(tb, "the cache's stream to connect", func() bool { return r.v.Stats().Connected })
	return r
}

// waitDrop waits for the revocation of sid to reach the cache.
func (r *cacheRun) waitDrop(tb testing.TB, sid string) drop {
	tb.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case d := <-r.drops:
			if d.sid == sid {
				return d
			}
		case <-timeout:
			tb.Fatalf("revocation of %s did not reach the cache within 5s", sid)
			return drop{}
		}
	}
}

// liveToken creates a live session and returns a token of it.
func (e *env) liveToken(tb testing.TB, tenant string) (client.Session, string) {
	tb.Helper()
	s := e.mustCreate(tb, client.CreateSessionRequest{UserID: "u-" + tenant, TenantID: tenant})
	return s, userToken(tb, s, tenant)
}

func mustVerify(tb testing.TB, v interface {
	Verify(context.Context, string) (client.Identity, error)
}, token string, want client.Session) {
	tb.Helper()
	id, err := v.Verify(context.Background(), token)
	if err != nil {
		tb.Fatalf("Verify: %v", err)
	}
	if id.SessionID != want.ID || id.UserID != want.UserID {
		tb.Fatalf("got identity %+v, want session %s of %s", id, want.ID, want.UserID)
	}
}

func TestCachingVerifierHit(t *testing.T) {
	e := newEnv(t)
	r := startCache(t, e, client.CacheOptions{})
	tenant := uniq("t")
	s, tok := e.liveToken(t, tenant)

	mustVerify(t, r.v, tok, s)
	mustVerify(t, r.v, tok, s)
	mustVerify(t, r.v, tok, s)
	if got := e.counter.verifies(); got != 1 {
		t.Errorf("got %d verify requests for 3 verifies of one token, want 1", got)
	}
	st := r.v.Stats()
	if st.Hits != 2 || st.Misses != 1 || st.Entries != 1 || !st.Connected {
		t.Errorf("got stats %+v, want 2 hits, 1 miss, 1 entry, connected", st)
	}
	// Another token of the same session is a different entry.
	tok2 := mint(t, auth.MintOptions{Subject: s.UserID, TenantID: tenant, SessionID: s.ID, Scope: "other"})
	mustVerify(t, r.v, tok2, s)
	if got := e.counter.verifies(); got != 2 {
		t.Errorf("got %d verify requests after a second token, want 2", got)
	}
}

func TestCachingVerifierWithoutStream(t *testing.T) {
	e := newEnv(t)
	v := client.NewCachingVerifier(e.anon, client.CacheOptions{})
	s, tok := e.liveToken(t, uniq("t"))
	for range 3 {
		mustVerify(t, v, tok, s)
	}
	if got := e.counter.verifies(); got != 3 {
		t.Errorf("got %d verify requests without Run, want 3: nothing is cached before the stream connects", got)
	}
	if st := v.Stats(); st.Entries != 0 || st.Hits != 0 || st.Connected {
		t.Errorf("got stats %+v, want an empty, disconnected cache", st)
	}
}

func TestCachingVerifierFailuresNotCached(t *testing.T) {
	e := newEnv(t)
	r := startCache(t, e, client.CacheOptions{})
	tok := mint(t, auth.MintOptions{Subject: "x", TenantID: "t", SessionID: "never-was"})
	for range 2 {
		_, err := r.v.Verify(context.Background(), tok)
		checkSentinel(t, err, client.ErrUnauthorized)
	}
	if got := e.counter.verifies(); got != 2 {
		t.Errorf("got %d verify requests for 2 refused verifies, want 2", got)
	}
}

// TestCachingVerifierRevocationLatency measures how long a revocation takes
// to drop the cached entry on loopback: from just before the revoke call to
// the cache applying its event.
func TestCachingVerifierRevocationLatency(t *testing.T) {
	e := newEnv(t)
	r := startCache(t, e, client.CacheOptions{})
	tenant := uniq("t")
	ctx := context.Background()
	const n = 200
	lat := make([]time.Duration, 0, n)
	for i := range n {
		s, tok := e.liveToken(t, tenant)
		mustVerify(t, r.v, tok, s)
		mustVerify(t, r.v, tok, s) // a hit
		start := time.Now()
		if err := e.admin.RevokeSession(ctx, s.ID); err != nil {
			t.Fatalf("RevokeSession: %v", err)
		}
		d := r.waitDrop(t, s.ID)
		if d.entries != 1 {
			t.Errorf("revocation %d dropped %d entries, want 1", i, d.entries)
		}
		lat = append(lat, d.at.Sub(start))
		before := e.counter.verifies()
		if _, err := r.v.Verify(ctx, tok); !errors.Is(err, client.ErrUnauthorized) {
			t.Fatalf("Verify after revocation: got %v, want ErrUnauthorized", err)
		}
		if e.counter.verifies() != before+1 {
			t.Fatalf("Verify after revocation was served from the cache")
		}
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)*50/100], lat[len(lat)*99/100]
	t.Logf("revoke-to-drop latency over %d revocations on loopback: p50 %v, p99 %v, max %v", n, p50, p99, lat[len(lat)-1])
	if st := r.v.Stats(); st.Revocations != n || st.Hits != n {
		t.Errorf("got stats %+v, want %d revocations and %d hits", st, n, n)
	}
}

func TestCachingVerifierBulkRevocation(t *testing.T) {
	e := newEnv(t)
	r := startCache(t, e, client.CacheOptions{})
	tenant := uniq("t")
	ctx := context.Background()
	var toks []string
	var ids []string
	for range 10 {
		s := e.mustCreate(t, client.CreateSessionRequest{UserID: "bulk", TenantID: tenant})
		tok := userToken(t, s, tenant)
		mustVerify(t, r.v, tok, s)
		toks, ids = append(toks, tok), append(ids, s.ID)
	}
	if got := r.v.Stats().Entries; got != 10 {
		t.Fatalf("got %d entries, want 10", got)
	}
	if _, err := e.admin.RevokeUserSessions(ctx, tenant, "bulk", client.SessionRevokeRequest{RevokeAll: true}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		r.waitDrop(t, id)
	}
	if got := r.v.Stats().Entries; got != 0 {
		t.Errorf("got %d entries after revoking them all, want 0", got)
	}
	for _, tok := range toks {
		if _, err := r.v.Verify(ctx, tok); !errors.Is(err, client.ErrUnauthorized) {
			t.Errorf("Verify of a revoked session: got %v, want ErrUnauthorized", err)
		}
	}
}

// TestCachingVerifierStreamLost: a broken stream empties the cache, and
// while it stays broken every Verify goes to the server.
func TestCachingVerifierMaxStaleness(t *testing.T) {
	e := newEnv(t)
	const staleness = 300 * time.Millisecond
	r := startCache(t, e, client.CacheOptions{MaxStaleness: staleness})
	s, tok := e.liveToken(t, uniq("t"))
	start := time.Now()
	mustVerify(t, r.v, tok, s)
	mustVerify(t, r.v, tok, s)
	if time.Since(start) < staleness && e.counter.verifies() != 1 {
		t.Fatalf("got %d verify requests within MaxStaleness, want 1", e.counter.verifies())
	}
	time.Sleep(staleness + 50*time.Millisecond)
	mustVerify(t, r.v, tok, s)
	if got := e.counter.verifies(); got != 2 {
		t.Errorf("got %d verify requests after MaxStaleness, want 2: the entry must expire", got)
	}
}

func TestCachingVerifierMaxEntries(t *testing.T) {
	e := newEnv(t)
	r := startCache(t, e, client.CacheOptions{MaxEntries: 5})
	tenant := uniq("t")
	s := e.mustCreate(t, client.CreateSessionRequest{UserID: "many", TenantID: tenant})
	for i := range 40 {
		tok := mint(t, auth.MintOptions{Subject: "many", TenantID: tenant, SessionID: s.ID, Scope: fmt.Sprint(i)})
		mustVerify(t, r.v, tok, s)
		if got := r.v.Stats().Entries; got > 5 {
			t.Fatalf("got %d entries, want at most MaxEntries 5", got)
		}
	}
	if got := r.v.Stats().Entries; got != 5 {
		t.Errorf("got %d entries after 40 tokens, want 5", got)
	}
}

// TestCachingVerifierOvertaken: a revocation whose event arrives while the
// verify of its session is in flight keeps that verify's answer out of the
// cache.
// fakeStream is an event stream server that writes what the test sends.
// TestCachingVerifierIdleStream: a stream that goes silent (a half-open
// connection) counts as broken after IdleTimeout.
// TestCachingVerifierConcurrent verifies from many goroutines while
// sessions are revoked: once a revocation reached the cache, no Verify of
// its token succeeds.
func TestCachingVerifierConcurrent(t *testing.T) {
	e := newEnv(t)
	r := startCache(t, e, client.CacheOptions{MaxEntries: 64})
	tenant := uniq("t")
	ctx := context.Background()
	type live struct {
		s   client.Session
		tok string
	}
	var sessions []live
	for range 20 {
		s, tok := e.liveToken(t, tenant)
		sessions = append(sessions, live{s, tok})
	}
	var mu sync.Mutex
	dropped := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				l := sessions[i%len(sessions)]
				mu.Lock()
				gone := dropped[l.s.ID]
				mu.Unlock()
				_, err := r.v.Verify(ctx, l.tok)
				if gone && err == nil {
					t.Errorf("Verify of %s succeeded after its revocation reached the cache", l.s.ID)
					return
				}
			}
		}()
	}
	for _, l := range sessions[:10] {
		time.Sleep(5 * time.Millisecond)
		if err := e.admin.RevokeSession(ctx, l.s.ID); err != nil {
			t.Fatal(err)
		}
		r.waitDrop(t, l.s.ID)
		mu.Lock()
		dropped[l.s.ID] = true
		mu.Unlock()
	}
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	if st := r.v.Stats(); st.Hits == 0 {
		t.Errorf("got stats %+v, want some hits", st)
	}
}

func TestTokenExpiry(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	tok := mint(t, auth.MintOptions{Subject: "u", Now: now, TTL: time.Minute})
	tests := []struct {
		name   string
		token  string
		want   time.Time
		wantOK bool
	}{
		{name: "jwt", token: tok, want: now.Add(time.Minute), wantOK: true},
		{name: "opaque", token: "opaque-token"},
		{name: "bad payload", token: "a.!!!.c"},
		{name: "no exp", token: "a." + "eyJzdWIiOiJ1In0" + ".c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := client.TokenExpiry(tc.token)
			if ok != tc.wantOK || !got.Equal(tc.want) {
				t.Errorf("got %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
