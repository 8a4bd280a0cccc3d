package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/client"
)

func TestCachingVerifierStreamLost(t *testing.T) {
	e := newEnv(t)
	r := startCache(t, e, client.CacheOptions{})
	s, tok := e.liveToken(t, uniq("t"))
	mustVerify(t, r.v, tok, s)
	mustVerify(t, r.v, tok, s)

	// Cut the stream: the cache empties, then the stream comes back.
	e.sseServer().CloseClientConnections()
	testserver.WaitFor(t, "a reconnection", func() bool { return r.v.Stats().Connects >= 2 && r.v.Stats().Connected })
	if got := r.v.Stats().Entries; got != 0 {
		t.Errorf("got %d entries after the stream broke, want 0", got)
	}
	before := e.counter.verifies()
	mustVerify(t, r.v, tok, s)
	if got := e.counter.verifies() - before; got != 1 {
		t.Errorf("got %d verify requests after the stream broke, want 1", got)
	}

	// Stop the stream's server: nothing is cached any more.
	e.sseServer().CloseClientConnections()
	e.sseServer().Close()
	testserver.WaitFor(t, "the stream to be down", func() bool { return !r.v.Stats().Connected })
	before = e.counter.verifies()
	for range 5 {
		mustVerify(t, r.v, tok, s)
	}
	if got := e.counter.verifies() - before; got != 5 {
		t.Errorf("got %d verify requests for 5 verifies without a stream, want 5", got)
	}
	if st := r.v.Stats(); st.Entries != 0 || st.Connected {
		t.Errorf("got stats %+v, want no entries while disconnected", st)
	}
}

func TestCachingVerifierOvertaken(t *testing.T) {
	e := newEnv(t)
	tenant := uniq("t")
	s, tok := e.liveToken(t, tenant)
	var r *cacheRun
	var once sync.Once
	slow := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(req)
		if req.URL.Path == "/api/v1/auth/verify" {
			// The server said "live"; revoke before the client hears it.
			once.Do(func() {
				if err := e.admin.RevokeSession(context.Background(), s.ID); err != nil {
					t.Errorf("RevokeSession: %v", err)
				}
				r.waitDrop(t, s.ID)
			})
		}
		return resp, err
	})
	verifier := mustClient(t, e.url, client.WithHTTPClient(&http.Client{Transport: slow}))
	r = &cacheRun{drops: make(chan drop, 16)}
	r.v = client.NewCachingVerifier(verifier, client.CacheOptions{EventsClient: e.eventsClient(t)})
	client.SetDropHook(r.v, func(sid string, n int) { r.drops <- drop{sid, n, time.Now()} })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.v.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	testserver.WaitFor(t, "the stream", func() bool { return r.v.Stats().Connected })

	mustVerify(t, r.v, tok, s) // the answer predates the revocation
	if got := r.v.Stats().Entries; got != 0 {
		t.Errorf("got %d entries, want 0: the answer was overtaken by its revocation", got)
	}
	if _, err := r.v.Verify(ctx, tok); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("second Verify: got %v, want ErrUnauthorized from the server", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type fakeStream struct {
	srv  *httptest.Server
	send chan string
}

func newFakeStream(tb testing.TB) *fakeStream {
	tb.Helper()
	f := &fakeStream{send: make(chan string, 16)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(": connected\n\n"))
		w.(http.Flusher).Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case s, ok := <-f.send:
				if !ok {
					return
				}
				_, _ = w.Write([]byte(s))
				w.(http.Flusher).Flush()
			}
		}
	}))
	tb.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

func TestCachingVerifierReset(t *testing.T) {
	e := newEnv(t)
	f := newFakeStream(t)
	r := startCache(t, e, client.CacheOptions{EventsClient: mustClient(t, f.srv.URL)})
	s, tok := e.liveToken(t, uniq("t"))
	mustVerify(t, r.v, tok, s)
	mustVerify(t, r.v, tok, s)
	f.send <- "event: reset\ndata: {\"type\":\"stream.reset\"}\n\n"
	testserver.WaitFor(t, "the reset", func() bool { return r.v.Stats().Resets == 1 })
	if st := r.v.Stats(); st.Entries != 0 || !st.Connected {
		t.Errorf("got stats %+v after a reset, want an empty, connected cache", st)
	}
	mustVerify(t, r.v, tok, s)
	if got := e.counter.verifies(); got != 2 {
		t.Errorf("got %d verify requests, want 2: the reset must empty the cache", got)
	}
}

func TestCachingVerifierIdleStream(t *testing.T) {
	e := newEnv(t)
	f := newFakeStream(t) // sends no keep-alives
	r := startCache(t, e, client.CacheOptions{EventsClient: mustClient(t, f.srv.URL), IdleTimeout: 150 * time.Millisecond})
	s, tok := e.liveToken(t, uniq("t"))
	mustVerify(t, r.v, tok, s)
	testserver.WaitFor(t, "a reconnection after the idle timeout", func() bool { return r.v.Stats().Connects >= 2 })
	if got := r.v.Stats().Entries; got != 0 {
		t.Errorf("got %d entries after the stream went idle, want 0", got)
	}
}

func TestCachingVerifierRun(t *testing.T) {
	e := newEnv(t)
	t.Run("refused stream ends Run", func(t *testing.T) {
		v := client.NewCachingVerifier(e.anon, client.CacheOptions{EventsClient: e.admin})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := v.Run(ctx)
		checkSentinel(t, err, client.ErrForbidden)
	})
	t.Run("twice", func(t *testing.T) {
		r := startCache(t, e, client.CacheOptions{})
		if err := r.v.Run(context.Background()); err == nil {
			t.Errorf("second Run: got nil, want an error")
		}
		if err := r.stop(); !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel: got %v, want context.Canceled", err)
		}
		if r.v.Stats().Connected {
			t.Errorf("got connected after Run returned, want disconnected")
		}
	})
}
