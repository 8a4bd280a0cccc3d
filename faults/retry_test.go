//go:build unix

package faults

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/redisstore"
)

// strictEnv makes the tests of known, reported bugs fail instead of skip.
const strictEnv = "FAULTS_STRICT"

// knownBug skips the test with the bug's description, or fails it when
// strictEnv is set. A test calls it only once it has observed the bug; when
// the bug is fixed the test passes on its own.
func knownBug(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv(strictEnv) != "" {
		t.Errorf("KNOWN BUG: "+format, args...)
		return
	}
	t.Skipf("KNOWN BUG (set "+strictEnv+"=1 to fail): "+format, args...)
}

// replayed reports whether an answer is the known bug TestLatencySpikeOnCreate
// and TestLatencySpikeOnRevoke show: a create or revoke whose first attempt
// Redis ran late, after the client's read timeout, and whose go-redis retry
// then found the work done (409 for a create, 404 for a revoke). Load tests
// count these, log them, and fail on them only when strictEnv is set.
func replayed(t *testing.T, kind string, res result) bool {
	t.Helper()
	if !(kind == "create" && res.status == http.StatusConflict) && !(kind == "revoke" && res.status == http.StatusNotFound) {
		return false
	}
	if os.Getenv(strictEnv) != "" {
		t.Errorf("KNOWN BUG: %s answered %v (a retried script found its own work done)", kind, res)
	} else {
		t.Logf("KNOWN BUG (set %s=1 to fail): %s answered %v (a retried script found its own work done)", strictEnv, kind, res)
	}
	return true
}

// TestLatencySpikeOnRevoke delays Redis's reply to one revoke script past
// the Redis timeout, once. Redis has run the script by then. The revoke must
// then answer 204 (it happened) or 503 (unknown), and its event must be in
// the stream; it must not answer 404 for a session it has just revoked.
func TestLatencySpikeOnRevoke(t *testing.T) {
	srv := testredis.Start(t)
	px := startProxy(t, srv.Addr())
	rdb := connect(t, redisstore.ConnectOptions{URL: "redis://" + px.addr() + "/0", Timeout: redisTimeout})
	r := newRig(t, rdb, rigConfig{events: true})

	warm := r.mustCreate(t, "TL", "u1", "", "")
	s := r.mustCreate(t, "TL", "u1", "", "")
	// Load the scripts, so that the next EVALSHA is the revoke itself.
	if res := r.revokeOne(warm); res.status != http.StatusNoContent {
		t.Fatalf("revoke: %v", res)
	}

	px.delayReplyTo([]byte("evalsha"), redisTimeout+300*time.Millisecond)
	res := r.revokeOne(s)
	if !px.fired() {
		t.Fatal("the proxy saw no EVALSHA: the test did not inject the spike")
	}
	t.Logf("revoke with one %s latency spike on its script: %v", redisTimeout+300*time.Millisecond, res)
	if v := r.verify(s.Token); v.status != http.StatusUnauthorized {
		t.Fatalf("the revoke script ran, yet verify answers %v", v)
	}
	evs := r.readEvents(t, "0")
	hasEvent := slices.ContainsFunc(evs, func(e event) bool { return e.SessionID == s.ID })
	if res.status == http.StatusNotFound || !hasEvent {
		knownBug(t, "DELETE of a live session answered %d and its revocation event is there: %v. "+
			"Redis ran the revoke script, the reply came after the 500ms read timeout, go-redis (MaxRetries 1, "+
			"redisstore/connect.go) re-ran the script, which found nothing left to revoke, so "+
			"redisstore.(*Store).revokeInTenant skipped cleanupViews (no event, pointer kept) and handlers.revokeOne answered 404",
			res.status, hasEvent)
		return
	}
	if res.status != http.StatusNoContent && res.status != http.StatusServiceUnavailable {
		t.Errorf("revoke with a latency spike: want 204 or 503, got %v", res)
	}
}

// TestLatencySpikeOnCreate delays Redis's reply to one create script past
// the Redis timeout, once. The session then exists; the create must answer
// 201 or 503, not 409 for the id the server itself generated.
func TestLatencySpikeOnCreate(t *testing.T) {
	srv := testredis.Start(t)
	px := startProxy(t, srv.Addr())
	rdb := connect(t, redisstore.ConnectOptions{URL: "redis://" + px.addr() + "/0", Timeout: redisTimeout})
	r := newRig(t, rdb, rigConfig{})
	r.mustCreate(t, "TL", "u1", "", "") // loads the create script

	px.delayReplyTo([]byte("evalsha"), redisTimeout+300*time.Millisecond)
	_, res := r.createID(t, "spiked-1", "TL", "u2", "", "")
	if !px.fired() {
		t.Fatal("the proxy saw no EVALSHA: the test did not inject the spike")
	}
	t.Logf("create with one latency spike on its script: %v", res)
	got := r.do(http.MethodGet, "/api/v1/tenants/TL/sessions/spiked-1", r.admin, nil)
	if res.status == http.StatusConflict && got.status == http.StatusOK {
		knownBug(t, "POST /api/v1/internal/sessions answered 409 %q, yet the session exists (GET %d): Redis ran the create "+
			"script, go-redis re-ran it after the read timeout (MaxRetries 1, redisstore/connect.go) and the second run "+
			"found the session (create.lua returns -1), so redisstore.(*Store).Create returned session.ErrConflict",
			bytes.TrimSpace(res.body), got.status)
		return
	}
	if res.status != http.StatusCreated && res.status != http.StatusServiceUnavailable {
		t.Errorf("create with a latency spike: want 201 or 503, got %v (GET: %v)", res, got)
	}
}

// proxy is a loopback TCP proxy in front of Redis that can hold back the
// reply to one command, to play a latency spike after Redis has run it.
type proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	trigger []byte
	delay   time.Duration
	hit     atomic.Bool
	// cut drops every reply from now on (a one-way partition).
	cut   atomic.Bool
	conns []net.Conn
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// delayReplyTo arms the proxy: the reply to the next command containing
// trigger (case-insensitive) is held back for d.
func (p *proxy) delayReplyTo(trigger []byte, d time.Duration) {
	p.mu.Lock()
	p.trigger, p.delay = bytes.ToLower(trigger), d
	p.mu.Unlock()
}

func (p *proxy) fired() bool { return p.hit.Load() }

// partition drops every byte the target sends from now on.
func (p *proxy) partition() { p.cut.Store(true) }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		// hold is the delay the next reply on this connection gets.
		var hold atomic.Int64
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			defer s.Close()
			buf := make([]byte, 64<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					p.mu.Lock()
					if p.trigger != nil && bytes.Contains(bytes.ToLower(buf[:n]), p.trigger) {
						hold.Store(int64(p.delay))
						p.trigger = nil
						p.hit.Store(true)
					}
					p.mu.Unlock()
					if _, err := s.Write(buf[:n]); err != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
		go func() {
			defer p.wg.Done()
			defer c.Close()
			buf := make([]byte, 64<<10)
			for {
				n, err := s.Read(buf)
				if n > 0 && p.cut.Load() {
					continue
				}
				if n > 0 {
					if d := time.Duration(hold.Swap(0)); d > 0 {
						time.Sleep(d)
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
				if err != nil {
					if !errors.Is(err, io.EOF) {
						_ = c.Close()
					}
					return
				}
			}
		}()
	}
}

func (p *proxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
