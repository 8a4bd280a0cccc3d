// Package app wires sessiond's parts together (token verifier, store,
// revocation broker, router, console) from its configuration. cmd/sessiond
// serves what it builds, and the tests serve the same wiring through
// internal/testserver, so the two cannot drift.
package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/sessiond/sessiond/console"
	"github.com/sessiond/sessiond/handlers"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/config"
	"github.com/sessiond/sessiond/pkg/delivery"
	"github.com/sessiond/sessiond/pkg/device"
	"github.com/sessiond/sessiond/pkg/events"
	"github.com/sessiond/sessiond/pkg/metrics"
	"github.com/sessiond/sessiond/pkg/push"
	"github.com/sessiond/sessiond/pkg/session"
	"github.com/sessiond/sessiond/pkg/signing"
	"github.com/sessiond/sessiond/pkg/verifycache"
	"github.com/sessiond/sessiond/redisstore"
)

// DefaultBrokerWait is how long one blocking read of the revocation stream
// waits before it reads again.
const DefaultBrokerWait = time.Second

// Options is what New needs beside the configuration.
type Options struct {
	Config config.Config
	// Redis is the client of the configured Redis (the caller owns it).
	Redis redis.UniversalClient
	// Log receives the service's logs; none when nil.
	Log *zap.Logger
	// Metrics, when set, instruments the client and the router and is
	// served at /metrics.
	Metrics *metrics.Metrics
	// BrokerWait is the revocation tail's blocking read (DefaultBrokerWait
	// when zero).
	BrokerWait time.Duration
	// Store, when set, changes the store's options after the configuration
	// set them (tests: a clock).
	Store func(*redisstore.Options)
	// Deps, when set, changes the router's dependencies after New set them
	// (tests: a clock, a store that fails, a shorter keep-alive).
	Deps func(*handlers.Deps)
	// Signing, when set, signs pushed tokens instead of the configured
	// keys; PushTLS is the TLS of push deliveries (tests trust their
	// receivers' certificates with it); Push, when set, changes the push
	// worker after New set it.
	Signing *signing.KeySet
	PushTLS *tls.Config
	Push    func(*push.Worker)
}

// App is one sessiond: its store, its revocation broker and its router.
type App struct {
	Store    *redisstore.Store
	Broker   *events.Broker
	Verifier *auth.Verifier
	// VerifyCache is verify's cache (nil when SESSIOND_VERIFY_CACHE is off).
	VerifyCache *verifycache.Cache
	// Push delivers revocations to receivers, and Keys signs what it sends
	// (both nil when push is off: no signing key outside dev mode).
	Push *push.Worker
	Keys *signing.KeySet
	// Handler serves every route.
	Handler *gin.Engine

	log         *zap.Logger
	closing     chan struct{}
	closingOnce sync.Once
}

// New builds the service from o. Close releases what it opened.
func New(ctx context.Context, o Options) (*App, error) {
	cfg := o.Config
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	verifier, err := auth.NewVerifier(ctx, auth.Config{
		HS256Secret: []byte(cfg.HS256Secret), JWKSURL: cfg.JWKSURL,
		Issuer: cfg.Issuer, Audience: cfg.Audience,
	})
	if err != nil {
		return nil, fmt.Errorf("token verifier: %w", err)
	}
	if m := o.Metrics; m != nil {
		redisstore.Instrument(o.Redis, m)
		m.Pool(func() metrics.PoolStats {
			var p metrics.PoolStats
			p.Hits, p.Misses, p.Timeouts, p.TotalConns, p.IdleConns = redisstore.PoolStats(o.Redis)
			return p
		})
	}
	so := redisstore.Options{
		RevokeBatch: cfg.RevokeBatch, ViewShards: cfg.ViewShards, WaitReplicas: cfg.RedisWaitReplicas, WaitTimeout: cfg.RedisWaitTimeout,
		EventRetention: int64(cfg.EventRetention),
		// Each tenant is swept by one instance per interval, whatever the count.
		SweepLock:        config.DefaultSweepLock(cfg.SweepInterval),
		HistoryRetention: cfg.HistoryRetention, HistoryMax: cfg.HistoryMaxPerTenant,
		DefaultPolicy: session.Policy{
			MaxSessionsPerUser: cfg.DefaultMaxSessionsPerUser, OnLimit: cfg.DefaultOnLimit,
			IdleTimeout: cfg.DefaultIdleTimeout, MaxLifetime: cfg.DefaultMaxLifetime,
		},
	}
	if o.Store != nil {
		o.Store(&so)
	}
	store := redisstore.New(o.Redis, so)
	wait := o.BrokerWait
	if wait <= 0 {
		wait = DefaultBrokerWait
	}
	broker := events.NewBroker(store, wait)
	if o.Metrics != nil {
		o.Metrics.Followers(broker.Followers)
	}
	a := &App{Store: store, Broker: broker, Verifier: verifier, log: log, closing: make(chan struct{})}
	d := handlers.Deps{
		// Event streams never end by themselves: they end when shutdown
		// starts, while ordinary requests drain.
		ShuttingDown: a.closing,
		Store:        store, Verifier: verifier, Log: log,
		MaxLifetime: cfg.MaxSessionLifetime, DeviceOf: device.Classify,
		Events: store, Broker: broker, ActivityInterval: cfg.ActivityInterval, Metrics: o.Metrics,
	}
	if cfg.Console {
		d.Console = console.Handler()
	}
	if cfg.VerifyCache {
		a.VerifyCache = verifycache.New(cfg.VerifyCacheMaxAge, 0)
		broker.Watch(a.VerifyCache)
		d.VerifyCache = a.VerifyCache
	}
	keys, err := signingKeys(cfg, o.Signing, log)
	if err != nil {
		verifier.Close()
		return nil, err
	}
	if keys != nil {
		a.Keys = keys
		a.Push = &push.Worker{
			Queue: store, Store: store, Consumer: consumerName(),
			Encoder: push.Tokens{Signer: keys, Issuer: cfg.PushIssuer},
			Sender: push.HTTP{Sender: delivery.NewSender(delivery.Options{
				Timeout: cfg.PushTimeout, TLSConfig: o.PushTLS, AllowLoopbackHTTP: cfg.DevTokens(),
			})},
			Tries: cfg.PushTries, Timeout: cfg.PushTimeout,
			OnError: func(err error) { log.Warn("revocation push", zap.Error(err)) },
		}
		if o.Metrics != nil {
			a.Push.Observer = o.Metrics
		}
		if o.Push != nil {
			o.Push(a.Push)
		}
		d.Receivers, d.Push, d.JWKS, d.PushAllowLoopbackHTTP = store, a.Push, keys.Handler(), cfg.DevTokens()
	}
	if o.Deps != nil {
		o.Deps(&d)
	}
	a.Handler = handlers.New(d)
	return a, nil
}

// Upgrade moves what an older version kept under legacy key names (the
// sweep also moves what an older instance still writes there). A failure is
// logged, not returned: the sweep retries. Only views split into another
// number of shards than this instance's are an error: the instance would
// not see their members.
func (a *App) Upgrade(ctx context.Context) error {
	up, err := a.Store.Upgrade(ctx)
	switch {
	case errors.Is(err, redisstore.ErrViewLayout):
		return err
	case err != nil:
		a.log.Warn("upgrade of legacy keys failed; the sweep retries", zap.Error(err))
	case up.Tenants+up.Views+up.Events > 0:
		a.log.Info("moved legacy keys", zap.Int("tenants", up.Tenants), zap.Int("view_members", up.Views), zap.Int("events", up.Events))
	}
	return nil
}

// RunEvents tails the revocation stream for the event followers until ctx
// ends.
func (a *App) RunEvents(ctx context.Context) {
	a.Broker.Run(ctx, func(err error) { a.log.Warn("revocation stream: tail failed", zap.Error(err)) })
}

// RunSweeper sweeps the indexes every interval (about) until ctx ends;
// onDone, when set, hears each sweep.
func (a *App) RunSweeper(ctx context.Context, interval time.Duration, onDone func(redisstore.SweepResult, error)) {
	a.Store.RunSweeper(ctx, interval, func(res redisstore.SweepResult, err error) {
		if onDone != nil {
			onDone(res, err)
		}
		if err != nil {
			a.log.Warn("sweep failed", zap.Error(err))
			return
		}
		a.log.Debug("sweep", zap.Int("tenants", res.Tenants), zap.Int64("pruned", res.Pruned), zap.Int("reconciled", res.Reconciled))
	})
}

// StartShutdown ends the event streams so that a graceful shutdown can
// drain; it may be called more than once.
func (a *App) StartShutdown() { a.closingOnce.Do(func() { close(a.closing) }) }

// Close releases the verifier (its JWKS refresh).
func (a *App) Close() { a.Verifier.Close() }

// RunPush delivers revocations to the tenants' receivers until ctx ends
// (nothing when push is off).
func (a *App) RunPush(ctx context.Context) {
	if a.Push != nil {
		a.Push.Run(ctx)
	}
}

// signingKeys are the keys that sign pushed tokens: the configured key file
// (with the previous ones published for the overlap), a generated key in
// dev mode, or none (push off).
func signingKeys(cfg config.Config, given *signing.KeySet, log *zap.Logger) (*signing.KeySet, error) {
	switch {
	case given != nil:
		return given, nil
	case cfg.SigningKeyFile != "":
		cur, err := signing.LoadKeyFile(cfg.SigningKeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", config.EnvSigningKeyFile, err)
		}
		prev, err := signing.LoadKeyFiles(cfg.SigningPreviousKeyFiles)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", config.EnvSigningPrevious, err)
		}
		return signing.NewKeySet(cur, prev, time.Now().Add(cfg.SigningOverlap), nil)
	case cfg.DevTokens():
		k, err := signing.GenerateKey()
		if err != nil {
			return nil, err
		}
		return signing.NewKeySet(k, nil, time.Time{}, nil)
	}
	log.Info("revocation push is off: set " + config.EnvSigningKeyFile + " to sign what receivers get")
	return nil, nil
}

// consumerName names this instance in the push consumer group: host, pid
// and a random suffix, so that a restarted instance is a new consumer and
// its predecessor's pending events are taken over.
func consumerName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%x", host, os.Getpid(), b)
}
