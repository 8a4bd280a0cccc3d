// Package testserver serves sessiond in-process for tests, built by
// internal/app exactly as cmd/sessiond builds it, on a Redis the test
// provides. The handler, client, CLI, end-to-end and fault tests all start
// their server here.
package testserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/sessiond/sessiond/handlers"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/config"
	"github.com/sessiond/sessiond/pkg/metrics"
	"github.com/sessiond/sessiond/pkg/push"
	"github.com/sessiond/sessiond/pkg/signing"
	"github.com/sessiond/sessiond/redisstore"
)

// Secret is the HS256 secret every test server verifies tokens with.
var Secret = []byte("testserver-secret-0123456789abcdef0123")

// Options changes the server from the defaults: cmd/sessiond's
// configuration with Secret, no logs, no metrics, no event tail.
type Options struct {
	// Config changes the configuration.
	Config func(*config.Config)
	// Events tails the revocation stream, which the event-stream route
	// needs; without it the route is not served (a tail holds a blocking
	// Redis read, so only the tests that follow events ask for it).
	Events bool
	// NoTail serves the event-stream route (with Events) but does not tail
	// the stream: for a server on a Redis that is down.
	NoTail bool
	// BrokerWait is the tail's blocking read (default 200ms).
	BrokerWait time.Duration
	// Serve serves the router on a loopback port (URL and Addr).
	Serve bool
	Log   *zap.Logger
	// Metrics instruments the server and serves /metrics.
	Metrics *metrics.Metrics
	// Store and Deps change the store's options and the router's
	// dependencies after the configuration set them.
	Store func(*redisstore.Options)
	Deps  func(*handlers.Deps)
	// Push runs revocation push, signing with Keys (a generated key when
	// nil) and trusting PushTLS's roots; PushWorker changes the worker.
	Push       bool
	Keys       *signing.KeySet
	PushTLS    *tls.Config
	PushWorker func(*push.Worker)
}

// Server is one sessiond on the test's Redis.
type Server struct {
	*app.App
	// URL (http://127.0.0.1:port) and Addr (127.0.0.1:port) are set when
	// Options.Serve asked for a listener.
	URL, Addr string

	http      *httptest.Server
	stopTail  func()
	stopPush  func()
	closeOnce sync.Once
}

// Config is the configuration of a test server before Options.Config.
func Config() config.Config {
	cfg := config.Default()
	cfg.HS256Secret = string(Secret)
	return cfg
}

// Start builds and starts a server on rdb (which the caller owns).
func Start(rdb redis.UniversalClient, o Options) (*Server, error) {
	cfg := Config()
	if o.Config != nil {
		o.Config(&cfg)
	}
	if o.BrokerWait <= 0 {
		o.BrokerWait = 200 * time.Millisecond
	}
	deps := func(d *handlers.Deps) {
		if !o.Events {
			d.Broker = nil
		}
		if o.Deps != nil {
			o.Deps(d)
		}
	}
	ao := app.Options{
		Config: cfg, Redis: rdb, Log: o.Log, Metrics: o.Metrics, BrokerWait: o.BrokerWait,
		Store: o.Store, Deps: deps,
	}
	if o.Push {
		if o.Keys == nil {
			k, err := signing.GenerateKey()
			if err != nil {
				return nil, err
			}
			if o.Keys, err = signing.NewKeySet(k, nil, time.Time{}, nil); err != nil {
				return nil, err
			}
		}
		ao.Signing, ao.PushTLS, ao.Push = o.Keys, o.PushTLS, o.PushWorker
	}
	a, err := app.New(context.Background(), ao)
	if err != nil {
		return nil, fmt.Errorf("build sessiond: %w", err)
	}
	s := &Server{App: a, stopTail: func() {}, stopPush: func() {}}
	if o.Push {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); a.RunPush(ctx) }()
		s.stopPush = func() { cancel(); <-done }
	}
	if o.Events && !o.NoTail {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); a.RunEvents(ctx) }()
		s.stopTail = func() { cancel(); <-done }
	}
	if o.Serve {
		s.http = httptest.NewServer(a.Handler)
		s.URL, s.Addr = s.http.URL, s.http.Listener.Addr().String()
	}
	return s, nil
}

// New is Start for one test: it fails the test on error and closes the
// server when the test ends.
func New(tb testing.TB, rdb redis.UniversalClient, o Options) *Server {
	tb.Helper()
	s, err := Start(rdb, o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close ends the event streams, the tail and the listener, in that order
// (a listener waits for its streams); it may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.StartShutdown()
		s.stopPush()
		s.stopTail()
		if s.http != nil {
			s.http.Close()
		}
		s.App.Close()
	})
}

// Mint signs a token the server accepts.
func Mint(tb testing.TB, o auth.MintOptions) string {
	tb.Helper()
	tok, err := auth.MintHS256(Secret, o)
	if err != nil {
		tb.Fatalf("mint a token: %v", err)
	}
	return tok
}

// StopPush stops the push worker at once, as a killed instance would: what
// it claimed and did not finish stays pending for another instance.
func (s *Server) StopPush() { s.stopPush() }
