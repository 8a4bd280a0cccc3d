// Package config builds and validates sessiond's configuration from the environment.
//
// Load never reads the process environment itself: cmd/sessiond passes
// os.Getenv, tests pass a map lookup. Every problem is collected before Load
// returns, so an operator fixes a broken deployment in one round, and every
// message names the variable at fault.
package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Redis deployment modes accepted by SESSIOND_REDIS_MODE.
const (
	ModeStandalone = "standalone"
	ModeCluster    = "cluster"
	ModeSentinel   = "sentinel"
)

// Environment variables Load reads.
const (
	EnvAddr               = "SESSIOND_ADDR"
	EnvRedisURL           = "SESSIOND_REDIS_URL"
	EnvRedisMode          = "SESSIOND_REDIS_MODE"
	EnvRedisAddrs         = "SESSIOND_REDIS_ADDRS"
	EnvRedisMaster        = "SESSIOND_REDIS_MASTER"
	EnvRedisPassword      = "SESSIOND_REDIS_PASSWORD"
	EnvRedisTLS           = "SESSIOND_REDIS_TLS"
	EnvRedisTimeout       = "SESSIOND_REDIS_TIMEOUT"
	EnvRedisWaitReplicas  = "SESSIOND_REDIS_WAIT_REPLICAS"
	EnvRedisWaitTimeout   = "SESSIOND_REDIS_WAIT_TIMEOUT"
	EnvHS256Secret        = "SESSIOND_JWT_HS256_SECRET"
	EnvJWKSURL            = "SESSIOND_JWKS_URL"
	EnvIssuer             = "SESSIOND_JWT_ISSUER"
	EnvAudience           = "SESSIOND_JWT_AUDIENCE"
	EnvLogLevel           = "SESSIOND_LOG_LEVEL"
	EnvLogFormat          = "SESSIOND_LOG_FORMAT"
	EnvMaxSessionLifetime = "SESSIOND_MAX_SESSION_LIFETIME"
	EnvSweepInterval      = "SESSIOND_SWEEP_INTERVAL"
	EnvRevokeBatch        = "SESSIOND_REVOKE_BATCH"
	EnvViewShards         = "SESSIOND_VIEW_SHARDS"
	EnvShutdownTimeout    = "SESSIOND_SHUTDOWN_TIMEOUT"
	EnvActivityInterval   = "SESSIOND_VERIFY_ACTIVITY_INTERVAL"
	EnvEventRetention     = "SESSIOND_EVENT_RETENTION"
	EnvPprofAddr          = "SESSIOND_PPROF_ADDR"
	EnvConsole            = "SESSIOND_CONSOLE"
	EnvHistoryRetention   = "SESSIOND_HISTORY_RETENTION"
	EnvHistoryMax         = "SESSIOND_HISTORY_MAX_PER_TENANT"
	EnvDefaultMaxSessions = "SESSIOND_DEFAULT_MAX_SESSIONS_PER_USER"
	EnvDefaultOnLimit     = "SESSIOND_DEFAULT_ON_LIMIT"
	EnvDefaultIdleTimeout = "SESSIOND_DEFAULT_IDLE_TIMEOUT"
	EnvDefaultMaxLifetime = "SESSIOND_DEFAULT_MAX_LIFETIME"
	EnvVerifyCache        = "SESSIOND_VERIFY_CACHE"
	EnvVerifyCacheMaxAge  = "SESSIOND_VERIFY_CACHE_MAX_AGE"
	EnvSigningKeyFile     = "SESSIOND_SIGNING_KEY_FILE"
	EnvSigningPrevious    = "SESSIOND_SIGNING_PREVIOUS_KEY_FILES"
	EnvSigningOverlap     = "SESSIOND_SIGNING_KEY_OVERLAP"
	EnvPushIssuer         = "SESSIOND_PUSH_ISSUER"
	EnvPushTries          = "SESSIOND_PUSH_TRIES"
	EnvPushTimeout        = "SESSIOND_PUSH_TIMEOUT"
)

// MinHS256SecretLen is the shortest HS256 secret accepted, in bytes: RFC 7518
// §3.2 asks for a key at least as long as the hash output.
const MinHS256SecretLen = 32

// Config is sessiond's whole configuration. Build it with Load or Default;
// log it with LogFields, never with a reflection-based encoder of your own.
type Config struct {
	// Addr is the HTTP listen address, host:port.
	Addr string

	// RedisURL addresses a standalone Redis; empty in standalone mode means
	// the embedded in-memory dev store.
	RedisURL string
	// RedisMode is ModeStandalone, ModeCluster or ModeSentinel.
	RedisMode string
	// RedisAddrs are the cluster seed nodes or the sentinels.
	RedisAddrs []string
	// RedisMaster is the sentinel master name.
	RedisMaster string
	// RedisPassword authenticates to cluster nodes, or to the sentinel
	// master and its replicas. Secret.
	RedisPassword string
	// RedisTLS turns on TLS for cluster and sentinel connections (standalone
	// uses a rediss:// URL instead).
	RedisTLS bool
	// RedisTimeout bounds dialling and each read and write.
	RedisTimeout time.Duration
	// RedisWaitReplicas, when positive, makes revocations wait for that many
	// replicas to acknowledge them (WAIT), so they survive a failover.
	RedisWaitReplicas int
	// RedisWaitTimeout bounds that wait.
	RedisWaitTimeout time.Duration

	// HS256Secret verifies HS256 tokens. Secret.
	HS256Secret string
	// JWKSURL is the identity provider's key set for RS256 and ES256 tokens.
	JWKSURL string
	// Issuer and Audience are checked in tokens when set.
	Issuer   string
	Audience string

	// LogLevel is debug, info, warn or error; LogFormat is json or console.
	LogLevel  string
	LogFormat string

	// MaxSessionLifetime is the longest allowed expires_at - now.
	MaxSessionLifetime time.Duration
	// SweepInterval is the mean period of the background index sweep.
	SweepInterval time.Duration
	// RevokeBatch is how many sessions one bulk-revocation round trip removes.
	RevokeBatch int
	// ViewShards is how many sorted sets, each in its own Cluster slot, hold
	// the global view, each partner's view and the tenant list; 1 is the
	// single-key layout (the default but on a Cluster).
	ViewShards int
	// ShutdownTimeout bounds draining in-flight requests on SIGTERM.
	ShutdownTimeout time.Duration
	// ActivityInterval, when positive, makes /auth/verify record activity at
	// most once per interval per session; zero means verify never writes.
	ActivityInterval time.Duration
	// EventRetention is the approximate number of revocation events kept in
	// the stream (the append script drops the oldest entries until they fit).
	EventRetention int
	// PprofAddr, when set, serves net/http/pprof on this loopback host:port
	// (for profiling under load); empty means off.
	PprofAddr string
	// Console serves the tenant admin's browser console at /console.
	Console bool
	// HistoryRetention is how long revoked sessions and the revocation
	// audit are kept; zero turns history off.
	HistoryRetention time.Duration
	// HistoryMaxPerTenant bounds the revoked sessions kept per tenant.
	HistoryMaxPerTenant int
	// DefaultPolicy is the session policy of a tenant that sets none, field
	// by field: max sessions per user (0 = unlimited), what a create beyond
	// it does, and the idle timeout and lifetime a create leaves out (0 =
	// none).
	DefaultMaxSessionsPerUser int
	DefaultOnLimit            string
	DefaultIdleTimeout        time.Duration
	DefaultMaxLifetime        time.Duration
	// VerifyCache lets verify answer from a per-instance cache for at most
	// VerifyCacheMaxAge (pkg/verifycache).
	VerifyCache       bool
	VerifyCacheMaxAge time.Duration
	// SigningKeyFile is the PEM private key that signs the tokens pushed to
	// receivers (EC P-256: ES256; RSA ≥ 2048 bits: RS256); dev mode
	// generates one when it is empty, and otherwise push is off.
	// SigningPreviousKeyFiles stay published in the JWKS for
	// SigningOverlap after the start (key rotation).
	SigningKeyFile          string
	SigningPreviousKeyFiles []string
	SigningOverlap          time.Duration
	// PushIssuer is the iss of pushed tokens; PushTries the attempts of one
	// delivery before it is recorded as a failure; PushTimeout bounds one.
	PushIssuer  string
	PushTries   int
	PushTimeout time.Duration
}

// The defaults of an empty environment. They are the only copy: the store's
// and the router's own fallbacks for a zero option use them too.
const (
	DefaultAddr                = ":8080"
	DefaultRedisTimeout        = 2 * time.Second
	DefaultRedisWaitTimeout    = 500 * time.Millisecond
	DefaultLogLevel            = "info"
	DefaultLogFormat           = "json"
	DefaultMaxSessionLifetime  = 720 * time.Hour
	DefaultSweepInterval       = time.Minute
	DefaultRevokeBatch         = 1000
	DefaultViewShards          = 1
	DefaultClusterViewShards   = 12
	MaxViewShards              = 64
	DefaultShutdownTimeout     = 15 * time.Second
	DefaultEventRetention      = 100000
	DefaultHistoryRetention    = 168 * time.Hour
	DefaultHistoryMaxPerTenant = 100000
)

// defaultViewShards is the number of view shards of a configuration that
// sets none: shards spread the views over a Cluster's masters; a single
// server gains nothing from them, and lists page 1 fastest from one key.
func (c Config) defaultViewShards() int {
	if c.RedisMode == ModeCluster {
		return DefaultClusterViewShards
	}
	return c.ViewShards
}

// DefaultSweepLock is how long one instance's sweep of a tenant keeps the
// others off it: a little below the sweep interval, so that each tenant is
// swept once per interval whatever the number of instances.
func DefaultSweepLock(interval time.Duration) time.Duration { return interval * 4 / 5 }

// Default returns the configuration of an empty environment: the
// all-in-memory dev setup.
func Default() Config {
	return Config{
		Addr:                DefaultAddr,
		RedisMode:           ModeStandalone,
		RedisTimeout:        DefaultRedisTimeout,
		RedisWaitTimeout:    DefaultRedisWaitTimeout,
		LogLevel:            DefaultLogLevel,
		LogFormat:           DefaultLogFormat,
		MaxSessionLifetime:  DefaultMaxSessionLifetime,
		SweepInterval:       DefaultSweepInterval,
		RevokeBatch:         DefaultRevokeBatch,
		ViewShards:          DefaultViewShards,
		ShutdownTimeout:     DefaultShutdownTimeout,
		EventRetention:      DefaultEventRetention,
		Console:             true,
		HistoryRetention:    DefaultHistoryRetention,
		HistoryMaxPerTenant: DefaultHistoryMaxPerTenant,
		DefaultOnLimit:      "evict_oldest",
		VerifyCache:         true,
		VerifyCacheMaxAge:   time.Second,
		SigningOverlap:      24 * time.Hour,
		PushIssuer:          "sessiond",
		PushTries:           6,
		PushTimeout:         5 * time.Second,
	}
}

// DevStore reports whether sessiond should run on the embedded in-memory
// Redis: standalone mode with no SESSIOND_REDIS_URL.
func (c Config) DevStore() bool { return c.RedisMode == ModeStandalone && c.RedisURL == "" }

// DevTokens reports whether no token verification is configured, so that
// sessiond should generate a random HS256 secret and print dev tokens.
func (c Config) DevTokens() bool { return c.HS256Secret == "" && c.JWKSURL == "" }

// Problem is one thing wrong with the environment.
type Problem struct {
	// Var is the environment variable at fault (or several, joined by " + ").
	Var string
	// Msg says what is wrong with it. It never contains a secret.
	Msg string
}

func (p Problem) String() string { return p.Var + ": " + p.Msg }

// Error lists every problem Load found. Load returns it as *Error.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("invalid configuration: ")
		b.WriteString(e.Problems[0].String())
		return b.String()
	}
	fmt.Fprintf(&b, "invalid configuration (%d problems):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.String())
	}
	return b.String()
}

// Variables returns the name of every environment variable Load reads, in
// the order it reads them: derived from Load itself, so that the lists the
// deploy files and the docs are checked against cannot drift from it.
func Variables() []string {
	var out []string
	_, _ = Load(func(name string) string {
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
		return ""
	})
	return out
}

// Load builds the configuration from getenv (os.Getenv in production) and
// validates it. An unset or empty variable takes its default. On error the
// returned Config holds whatever did parse, and the error is an *Error
// listing every problem.
func Load(getenv func(string) string) (Config, error) {
	l := loader{getenv: getenv}
	c := Default()

	c.Addr = l.str(EnvAddr, c.Addr)
	c.RedisURL = l.str(EnvRedisURL, "")
	c.RedisMode = strings.ToLower(l.str(EnvRedisMode, c.RedisMode))
	c.RedisAddrs = l.list(EnvRedisAddrs)
	c.RedisMaster = l.str(EnvRedisMaster, "")
	c.RedisPassword = l.secret(EnvRedisPassword)
	c.RedisTLS = l.boolean(EnvRedisTLS, c.RedisTLS)
	c.RedisTimeout = l.duration(EnvRedisTimeout, c.RedisTimeout)
	c.RedisWaitReplicas = l.integer(EnvRedisWaitReplicas, c.RedisWaitReplicas)
	c.RedisWaitTimeout = l.duration(EnvRedisWaitTimeout, c.RedisWaitTimeout)
	c.HS256Secret = l.secret(EnvHS256Secret)
	c.JWKSURL = l.str(EnvJWKSURL, "")
	c.Issuer = l.str(EnvIssuer, "")
	c.Audience = l.str(EnvAudience, "")
	c.LogLevel = strings.ToLower(l.str(EnvLogLevel, c.LogLevel))
	c.LogFormat = strings.ToLower(l.str(EnvLogFormat, c.LogFormat))
	c.MaxSessionLifetime = l.duration(EnvMaxSessionLifetime, c.MaxSessionLifetime)
	c.SweepInterval = l.duration(EnvSweepInterval, c.SweepInterval)
	c.RevokeBatch = l.integer(EnvRevokeBatch, c.RevokeBatch)
	c.ViewShards = l.integer(EnvViewShards, c.defaultViewShards())
	c.ShutdownTimeout = l.duration(EnvShutdownTimeout, c.ShutdownTimeout)
	c.ActivityInterval = l.duration(EnvActivityInterval, c.ActivityInterval)
	c.EventRetention = l.integer(EnvEventRetention, c.EventRetention)
	c.PprofAddr = l.str(EnvPprofAddr, "")
	c.Console = l.boolean(EnvConsole, c.Console)
	c.HistoryRetention = l.duration(EnvHistoryRetention, c.HistoryRetention)
	c.HistoryMaxPerTenant = l.integer(EnvHistoryMax, c.HistoryMaxPerTenant)
	c.DefaultMaxSessionsPerUser = l.integer(EnvDefaultMaxSessions, c.DefaultMaxSessionsPerUser)
	c.DefaultOnLimit = strings.ToLower(l.str(EnvDefaultOnLimit, c.DefaultOnLimit))
	c.DefaultIdleTimeout = l.duration(EnvDefaultIdleTimeout, c.DefaultIdleTimeout)
	c.DefaultMaxLifetime = l.duration(EnvDefaultMaxLifetime, c.DefaultMaxLifetime)
	c.VerifyCache = l.boolean(EnvVerifyCache, c.VerifyCache)
	c.VerifyCacheMaxAge = l.duration(EnvVerifyCacheMaxAge, c.VerifyCacheMaxAge)
	c.SigningKeyFile = l.str(EnvSigningKeyFile, "")
	c.SigningPreviousKeyFiles = l.list(EnvSigningPrevious)
	c.SigningOverlap = l.duration(EnvSigningOverlap, c.SigningOverlap)
	c.PushIssuer = l.str(EnvPushIssuer, c.PushIssuer)
	c.PushTries = l.integer(EnvPushTries, c.PushTries)
	c.PushTimeout = l.duration(EnvPushTimeout, c.PushTimeout)

	l.problems = append(l.problems, c.validate()...)
	if len(l.problems) > 0 {
		return c, &Error{Problems: l.problems}
	}
	return c, nil
}

// Validate checks a Config built by hand (tests, flags) with the rules Load
// applies; it returns nil or an *Error.
func (c Config) Validate() error {
	if ps := c.validate(); len(ps) > 0 {
		return &Error{Problems: ps}
	}
	return nil
}
