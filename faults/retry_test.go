//go:build unix

package faults

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/redisstore"
)

// TestLatencySpikeOnRevoke delays Redis's reply to one revoke script past
// the Redis timeout, once. Redis has run the script by then. The revoke must
// then answer 204 (it happened) or 503 (unknown), never 404 for a session it
// has just revoked; the session must be revoked, its id pointer gone, and its
// event in the stream, at once or after one sweep (which relays the batch's
// revocation record).
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

	// The revoke script is the call that names the tenant's revocation
	// records (its first step, keeping the tenant on the sweep's list, is a
	// script too).
	px.delayReplyTo([]byte("rv:{TL}"), redisTimeout+300*time.Millisecond)
	res := r.revokeOne(s)
	if !px.fired() {
		t.Fatal("the proxy saw no revoke script: the test did not inject the spike")
	}
	t.Logf("revoke with one %s latency spike on its script: %v", redisTimeout+300*time.Millisecond, res)
	if res.status != http.StatusNoContent && res.status != http.StatusServiceUnavailable {
		t.Errorf("revoke with a latency spike: want 204 or 503, got %v", res)
	}
	if v := r.verify(s.Token); v.status != http.StatusUnauthorized {
		t.Fatalf("the revoke script ran, yet verify answers %v", v)
	}
	direct := connect(t, redisstore.ConnectOptions{URL: srv.URL(0)})
	atOnce, afterSweep := eventWritten(t, r, direct, s.ID)
	t.Logf("revocation event written at once %v, after one sweep %v", atOnce, afterSweep)
	if !afterSweep {
		t.Errorf("no revocation event for %s, at once or after a sweep", s.ID)
	}
	if n := direct.Exists(context.Background(), "sid:{"+s.ID+"}").Val(); n != 0 {
		t.Errorf("the id pointer of the revoked session is still there")
	}
}

// eventWritten reports whether the revocation event of sid is in the stream
// at once, and whether it is there after one sweep, whose clock runs a
// minute ahead so that it relays every revocation record left behind.
func eventWritten(t *testing.T, r *rig, rdb redis.UniversalClient, sid string) (atOnce, afterSweep bool) {
	t.Helper()
	has := func() bool {
		return slices.ContainsFunc(r.readEvents(t, "0"), func(e event) bool { return e.SessionID == sid })
	}
	if has() {
		return true, true
	}
	ahead := redisstore.New(rdb, redisstore.Options{Now: func() time.Time { return time.Now().Add(time.Minute) }})
	if _, err := ahead.Sweep(context.Background()); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	return false, has()
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
	if res.status != http.StatusCreated && res.status != http.StatusServiceUnavailable {
		got := r.do(http.MethodGet, "/api/v1/tenants/TL/sessions/spiked-1", r.admin, nil)
		t.Errorf("create with a latency spike: want 201 or 503, got %v %q (GET: %v)", res, bytes.TrimSpace(res.body), got)
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
