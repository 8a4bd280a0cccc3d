package config_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/config"
)

const secret32 = "0123456789abcdef0123456789abcdef"

// env turns a map into a getenv function.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// with returns base plus kv, later pairs winning.
func with(base map[string]string, kv ...string) map[string]string {
	m := maps.Clone(base)
	if m == nil {
		m = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

var (
	cluster = map[string]string{
		config.EnvRedisMode:    "cluster",
		config.EnvRedisAddrs:   "10.0.0.1:7000",
		config.EnvHS256Secret:  secret32,
		config.EnvLogLevel:     "info",
		config.EnvAddr:         ":8080",
		config.EnvRedisTimeout: "2s",
	}
	sentinel = map[string]string{
		config.EnvRedisMode:   "sentinel",
		config.EnvRedisAddrs:  "10.0.0.1:26379",
		config.EnvRedisMaster: "mymaster",
		config.EnvHS256Secret: secret32,
	}
)

func clusterCfg(c *config.Config) {
	c.RedisMode = config.ModeCluster
	c.RedisAddrs = []string{"10.0.0.1:7000"}
	c.HS256Secret = secret32
	c.ViewShards = config.DefaultClusterViewShards
}

func TestLoadDefaults(t *testing.T) {
	got, err := config.Load(env(nil))
	if err != nil {
		t.Fatalf("Load(empty): %v", err)
	}
	want := config.Config{
		Addr:                ":8080",
		RedisMode:           "standalone",
		RedisTimeout:        2 * time.Second,
		RedisWaitTimeout:    500 * time.Millisecond,
		LogLevel:            "info",
		LogFormat:           "json",
		MaxSessionLifetime:  720 * time.Hour,
		SweepInterval:       time.Minute,
		RevokeBatch:         1000,
		ViewShards:          1,
		ShutdownTimeout:     15 * time.Second,
		EventRetention:      100000,
		Console:             true,
		HistoryRetention:    168 * time.Hour,
		HistoryMaxPerTenant: 100000,
		DefaultOnLimit:      "evict_oldest",
		VerifyCache:         true,
		VerifyCacheMaxAge:   time.Second,
		SigningOverlap:      24 * time.Hour,
		PushIssuer:          "sessiond",
		PushTries:           6,
		PushTimeout:         5 * time.Second,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load(empty) mismatch (-want +got):\n%s", diff)
	}
	if !got.DevStore() || !got.DevTokens() {
		t.Errorf("DevStore, DevTokens = %v, %v; want true, true", got.DevStore(), got.DevTokens())
	}
}

// TestLoadGood checks that each variable's good values land in the field.
func TestLoadGood(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want func(*config.Config) // applied to Default()
	}{
		{"addr port only", with(nil, config.EnvAddr, ":9090"), func(c *config.Config) { c.Addr = ":9090" }},
		{"addr host and port", with(nil, config.EnvAddr, "127.0.0.1:8081"), func(c *config.Config) { c.Addr = "127.0.0.1:8081" }},
		{"addr ipv6", with(nil, config.EnvAddr, "[::1]:8080"), func(c *config.Config) { c.Addr = "[::1]:8080" }},
		{"addr any port", with(nil, config.EnvAddr, "localhost:0"), func(c *config.Config) { c.Addr = "localhost:0" }},
		{"addr trimmed", with(nil, config.EnvAddr, "  :8080 \n"), func(c *config.Config) { c.Addr = ":8080" }},
		{"pprof ipv4 loopback", with(nil, config.EnvPprofAddr, "127.0.0.1:6060"), func(c *config.Config) { c.PprofAddr = "127.0.0.1:6060" }},
		{"pprof ipv6 loopback", with(nil, config.EnvPprofAddr, "[::1]:6060"), func(c *config.Config) { c.PprofAddr = "[::1]:6060" }},
		{"pprof localhost any port", with(nil, config.EnvPprofAddr, "localhost:0"), func(c *config.Config) { c.PprofAddr = "localhost:0" }},
		{"console off", with(nil, config.EnvConsole, "off"), func(c *config.Config) { c.Console = false }},
		{"verify cache off", with(nil, config.EnvVerifyCache, "off", config.EnvVerifyCacheMaxAge, "250ms"), func(c *config.Config) {
			c.VerifyCache, c.VerifyCacheMaxAge = false, 250*time.Millisecond
		}},
		{"push", with(nil, config.EnvSigningKeyFile, "/keys/new.pem", config.EnvSigningPrevious, "/keys/a.pem,/keys/b.pem",
			config.EnvSigningOverlap, "48h", config.EnvPushIssuer, "https://idp.example", config.EnvPushTries, "3", config.EnvPushTimeout, "2s"),
			func(c *config.Config) {
				c.SigningKeyFile, c.SigningPreviousKeyFiles, c.SigningOverlap = "/keys/new.pem", []string{"/keys/a.pem", "/keys/b.pem"}, 48*time.Hour
				c.PushIssuer, c.PushTries, c.PushTimeout = "https://idp.example", 3, 2*time.Second
			}},
		{"history off", with(nil, config.EnvHistoryRetention, "0"), func(c *config.Config) { c.HistoryRetention = 0 }},
		{"history 30 days", with(nil, config.EnvHistoryRetention, "720h"), func(c *config.Config) { c.HistoryRetention = 720 * time.Hour }},
		{"history cap", with(nil, config.EnvHistoryMax, "5000"), func(c *config.Config) { c.HistoryMaxPerTenant = 5000 }},
		{"default policy", with(nil, config.EnvDefaultMaxSessions, "3", config.EnvDefaultOnLimit, "Refuse",
			config.EnvDefaultIdleTimeout, "30m", config.EnvDefaultMaxLifetime, "12h"), func(c *config.Config) {
			c.DefaultMaxSessionsPerUser, c.DefaultOnLimit, c.DefaultIdleTimeout, c.DefaultMaxLifetime = 3, "refuse", 30*time.Minute, 12*time.Hour
		}},
		{"console false", with(nil, config.EnvConsole, "false"), func(c *config.Config) { c.Console = false }},
		{"console on", with(nil, config.EnvConsole, "ON"), func(c *config.Config) { c.Console = true }},

		{"redis url", with(nil, config.EnvRedisURL, "redis://localhost:6379/0", config.EnvHS256Secret, secret32),
			func(c *config.Config) { c.RedisURL = "redis://localhost:6379/0"; c.HS256Secret = secret32 }},
		{"redis url tls with credentials", with(nil, config.EnvRedisURL, "rediss://user:pw@redis.example:6380/3", config.EnvJWKSURL, "https://idp.example/jwks.json"),
			func(c *config.Config) {
				c.RedisURL = "rediss://user:pw@redis.example:6380/3"
				c.JWKSURL = "https://idp.example/jwks.json"
			}},

		{"mode standalone", with(nil, config.EnvRedisMode, "standalone"), func(c *config.Config) {}},
		{"mode upper case", with(nil, config.EnvRedisMode, "STANDALONE"), func(c *config.Config) {}},
		{"mode cluster", cluster, clusterCfg},
		{"mode cluster, one view shard", with(cluster, config.EnvViewShards, "1"), func(c *config.Config) { clusterCfg(c); c.ViewShards = 1 }},
		{"mode sentinel", sentinel, func(c *config.Config) {
			c.RedisMode = config.ModeSentinel
			c.RedisAddrs = []string{"10.0.0.1:26379"}
			c.RedisMaster = "mymaster"
			c.HS256Secret = secret32
		}},

		{"addrs trimmed and empty items dropped", with(cluster, config.EnvRedisAddrs, " a:7000 , b:7001,,c:7002, "), func(c *config.Config) {
			clusterCfg(c)
			c.RedisAddrs = []string{"a:7000", "b:7001", "c:7002"}
		}},
		{"addrs ipv6", with(cluster, config.EnvRedisAddrs, "[fd00::1]:7000"), func(c *config.Config) {
			clusterCfg(c)
			c.RedisAddrs = []string{"[fd00::1]:7000"}
		}},
		{"password in cluster", with(cluster, config.EnvRedisPassword, " s3cret "), func(c *config.Config) {
			clusterCfg(c)
			c.RedisPassword = " s3cret " // secrets are not trimmed
		}},
		{"tls true", with(cluster, config.EnvRedisTLS, "true"), func(c *config.Config) { clusterCfg(c); c.RedisTLS = true }},
		{"tls 1", with(cluster, config.EnvRedisTLS, "1"), func(c *config.Config) { clusterCfg(c); c.RedisTLS = true }},
		{"tls false", with(cluster, config.EnvRedisTLS, "false"), clusterCfg},
		{"tls false in standalone", with(nil, config.EnvRedisTLS, "false"), func(c *config.Config) {}},

		{"redis timeout", with(nil, config.EnvRedisTimeout, "250ms"), func(c *config.Config) { c.RedisTimeout = 250 * time.Millisecond }},
		{"redis timeout max", with(nil, config.EnvRedisTimeout, "1m"), func(c *config.Config) { c.RedisTimeout = time.Minute }},
		{"wait replicas 0", with(nil, config.EnvRedisWaitReplicas, "0"), func(c *config.Config) {}},
		{"wait replicas 10", with(nil, config.EnvRedisWaitReplicas, "10"), func(c *config.Config) { c.RedisWaitReplicas = 10 }},
		{"wait timeout", with(nil, config.EnvRedisWaitTimeout, "2s"), func(c *config.Config) { c.RedisWaitTimeout = 2 * time.Second }},

		{"hs256 secret", with(nil, config.EnvHS256Secret, secret32), func(c *config.Config) { c.HS256Secret = secret32 }},
		{"jwks http", with(nil, config.EnvJWKSURL, "http://idp:8080/.well-known/jwks.json"), func(c *config.Config) { c.JWKSURL = "http://idp:8080/.well-known/jwks.json" }},
		{"jwks and secret together", with(nil, config.EnvJWKSURL, "https://idp/jwks", config.EnvHS256Secret, secret32), func(c *config.Config) {
			c.JWKSURL = "https://idp/jwks"
			c.HS256Secret = secret32
		}},
		{"issuer and audience with secret", with(cluster, config.EnvIssuer, "https://idp.example", config.EnvAudience, "sessiond"), func(c *config.Config) {
			clusterCfg(c)
			c.Issuer = "https://idp.example"
			c.Audience = "sessiond"
		}},
		{"issuer in full dev mode", with(nil, config.EnvIssuer, "dev"), func(c *config.Config) { c.Issuer = "dev" }},

		{"log level debug", with(nil, config.EnvLogLevel, "debug"), func(c *config.Config) { c.LogLevel = "debug" }},
		{"log level warn", with(nil, config.EnvLogLevel, "WARN"), func(c *config.Config) { c.LogLevel = "warn" }},
		{"log level error", with(nil, config.EnvLogLevel, "error"), func(c *config.Config) { c.LogLevel = "error" }},
		{"log format console", with(nil, config.EnvLogFormat, "console"), func(c *config.Config) { c.LogFormat = "console" }},

		{"max lifetime", with(nil, config.EnvMaxSessionLifetime, "24h"), func(c *config.Config) { c.MaxSessionLifetime = 24 * time.Hour }},
		{"max lifetime one year", with(nil, config.EnvMaxSessionLifetime, "8760h"), func(c *config.Config) { c.MaxSessionLifetime = 8760 * time.Hour }},
		{"sweep interval min", with(nil, config.EnvSweepInterval, "1s"), func(c *config.Config) { c.SweepInterval = time.Second }},
		{"revoke batch min", with(nil, config.EnvRevokeBatch, "1"), func(c *config.Config) { c.RevokeBatch = 1 }},
		{"revoke batch max", with(nil, config.EnvRevokeBatch, "10000"), func(c *config.Config) { c.RevokeBatch = 10000 }},
		{"view shards on one server", with(nil, config.EnvViewShards, "12"), func(c *config.Config) { c.ViewShards = 12 }},
		{"view shards max", with(nil, config.EnvViewShards, "64"), func(c *config.Config) { c.ViewShards = 64 }},
		{"shutdown timeout", with(nil, config.EnvShutdownTimeout, "30s"), func(c *config.Config) { c.ShutdownTimeout = 30 * time.Second }},
		{"activity interval zero", with(nil, config.EnvActivityInterval, "0"), func(c *config.Config) {}},
		{"activity interval", with(nil, config.EnvActivityInterval, "30s"), func(c *config.Config) { c.ActivityInterval = 30 * time.Second }},
		{"event retention min", with(nil, config.EnvEventRetention, "1000"), func(c *config.Config) { c.EventRetention = 1000 }},
		{"event retention max", with(nil, config.EnvEventRetention, "10000000"), func(c *config.Config) { c.EventRetention = 10_000_000 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := config.Load(env(tc.env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := config.Default()
			tc.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Load mismatch (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate of a loaded config: %v", err)
			}
		})
	}
}

// TestLoadCombined checks that Load reports every problem at once.
func TestLoadCombined(t *testing.T) {
	e := map[string]string{
		config.EnvAddr:               "nope",
		config.EnvRedisMode:          "sentinel",
		config.EnvRedisURL:           "redis://localhost:6379",
		config.EnvRedisTimeout:       "forever",
		config.EnvRevokeBatch:        "0",
		config.EnvLogFormat:          "xml",
		config.EnvHS256Secret:        "too-short",
		config.EnvMaxSessionLifetime: "9000h",
	}
	got, err := config.Load(env(e))
	ps := mustProblems(t, err)
	var vars []string
	for _, p := range ps {
		vars = append(vars, p.Var)
	}
	want := []string{
		config.EnvAddr,
		config.EnvHS256Secret,
		config.EnvLogFormat,
		config.EnvMaxSessionLifetime,
		config.EnvRedisAddrs,
		config.EnvRedisMaster,
		config.EnvRedisTimeout,
		config.EnvRedisURL,
		config.EnvRevokeBatch,
	}
	slices.Sort(vars)
	if diff := cmp.Diff(want, vars); diff != "" {
		t.Errorf("problem variables mismatch (-want +got):\n%s\nerror:\n%v", diff, err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "invalid configuration (9 problems):\n\t") {
		t.Errorf("got error header %q, want the problem count", strings.SplitN(msg, "\n", 2)[0])
	}
	for _, v := range want {
		if !strings.Contains(msg, "\n\t"+v+": ") {
			t.Errorf("error does not name %s on its own line:\n%s", v, msg)
		}
	}
	if strings.Contains(msg, "too-short") {
		t.Errorf("error leaks the HS256 secret:\n%s", msg)
	}
	// What parsed is kept; what did not keeps its default.
	if got.RedisMode != config.ModeSentinel || got.RedisTimeout != 2*time.Second {
		t.Errorf("got mode %q timeout %v, want sentinel and the 2s default", got.RedisMode, got.RedisTimeout)
	}
}

func TestValidate(t *testing.T) {
	c := config.Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v, want nil", err)
	}
	c.RedisMode = config.ModeCluster
	c.HS256Secret = secret32
	ps := mustProblems(t, c.Validate())
	if len(ps) != 1 || ps[0].Var != config.EnvRedisAddrs {
		t.Errorf("got %v, want one problem with %s", ps, config.EnvRedisAddrs)
	}
}

func TestDerived(t *testing.T) {
	tests := []struct {
		name                    string
		mod                     func(*config.Config)
		wantDevStore, wantDevTk bool
	}{
		{"defaults", func(*config.Config) {}, true, true},
		{"redis url", func(c *config.Config) { c.RedisURL = "redis://r:6379" }, false, true},
		{"cluster", func(c *config.Config) { c.RedisMode = config.ModeCluster }, false, true},
		{"sentinel", func(c *config.Config) { c.RedisMode = config.ModeSentinel }, false, true},
		{"secret", func(c *config.Config) { c.HS256Secret = secret32 }, true, false},
		{"jwks", func(c *config.Config) { c.JWKSURL = "https://idp/jwks" }, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			tc.mod(&c)
			if got := c.DevStore(); got != tc.wantDevStore {
				t.Errorf("DevStore() = %v, want %v", got, tc.wantDevStore)
			}
			if got := c.DevTokens(); got != tc.wantDevTk {
				t.Errorf("DevTokens() = %v, want %v", got, tc.wantDevTk)
			}
		})
	}
}

func mustProblems(tb testing.TB, err error) []config.Problem {
	tb.Helper()
	if err == nil {
		tb.Fatal("got nil error, want a configuration error")
	}
	var ce *config.Error
	if !errors.As(err, &ce) {
		tb.Fatalf("got %T %v, want *config.Error", err, err)
	}
	return ce.Problems
}
