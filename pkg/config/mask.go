package config

import (
	"fmt"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// masked stands in for a secret that is set.
const masked = "***"

// maskSecret returns "" for an unset secret and "***" for a set one, so the
// log still tells whether it is configured.
func maskSecret(s string) string {
	if s == "" {
		return ""
	}
	return masked
}

// LogFields returns the configuration as zap fields for the start-up log,
// with the Redis password (inside the URL and on its own) and the HS256
// secret shown as "***", or "" when unset.
func (c Config) LogFields() []zap.Field {
	return []zap.Field{
		zap.String("addr", c.Addr),
		zap.String("redis_mode", c.RedisMode),
		zap.String("redis_url", RedactURL(c.RedisURL)),
		zap.Strings("redis_addrs", redactAddrs(c.RedisAddrs)),
		zap.String("redis_master", c.RedisMaster),
		zap.String("redis_password", maskSecret(c.RedisPassword)),
		zap.Bool("redis_tls", c.RedisTLS),
		zap.Duration("redis_timeout", c.RedisTimeout),
		zap.Int("redis_wait_replicas", c.RedisWaitReplicas),
		zap.Duration("redis_wait_timeout", c.RedisWaitTimeout),
		zap.String("jwt_hs256_secret", maskSecret(c.HS256Secret)),
		zap.String("jwks_url", RedactURL(c.JWKSURL)),
		zap.String("jwt_issuer", c.Issuer),
		zap.String("jwt_audience", c.Audience),
		zap.String("log_level", c.LogLevel),
		zap.String("log_format", c.LogFormat),
		zap.Duration("max_session_lifetime", c.MaxSessionLifetime),
		zap.Duration("sweep_interval", c.SweepInterval),
		zap.Int("revoke_batch", c.RevokeBatch),
		zap.Duration("shutdown_timeout", c.ShutdownTimeout),
		zap.Duration("verify_activity_interval", c.ActivityInterval),
		zap.Int("event_retention", c.EventRetention),
		zap.String("pprof_addr", c.PprofAddr),
		zap.Bool("console", c.Console),
		zap.Duration("history_retention", c.HistoryRetention),
		zap.Int("history_max_per_tenant", c.HistoryMaxPerTenant),
		zap.Int("default_max_sessions_per_user", c.DefaultMaxSessionsPerUser),
		zap.String("default_on_limit", c.DefaultOnLimit),
		zap.Duration("default_idle_timeout", c.DefaultIdleTimeout),
		zap.Duration("default_max_lifetime", c.DefaultMaxLifetime),
		zap.Bool("verify_cache", c.VerifyCache),
		zap.Duration("verify_cache_max_age", c.VerifyCacheMaxAge),
		zap.String("signing_key_file", c.SigningKeyFile),
		zap.Int("signing_previous_keys", len(c.SigningPreviousKeyFiles)),
		zap.Duration("signing_key_overlap", c.SigningOverlap),
		zap.String("push_issuer", c.PushIssuer),
		zap.Int("push_tries", c.PushTries),
		zap.Duration("push_timeout", c.PushTimeout),
		zap.Bool("dev_store", c.DevStore()),
		zap.Bool("dev_tokens", c.DevTokens()),
	}
}

// MarshalLogObject makes zap.Any(c) and zap.Object(c) log the masked fields
// instead of reflecting over the secrets.
func (c Config) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for _, f := range c.LogFields() {
		f.AddTo(enc)
	}
	return nil
}

// String formats the configuration with secrets masked, so that fmt's %v and
// %+v are safe too.
func (c Config) String() string {
	var b strings.Builder
	enc := zapcore.NewMapObjectEncoder()
	_ = c.MarshalLogObject(enc)
	b.WriteString("config{")
	for i, f := range c.LogFields() {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%v", f.Key, enc.Fields[f.Key])
	}
	b.WriteString("}")
	return b.String()
}

// GoString makes %#v as safe as %v.
func (c Config) GoString() string { return c.String() }
