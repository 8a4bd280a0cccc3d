package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// validate returns every problem with c. Messages quote offending values
// except secrets, and the Redis URL, whose password is masked.
func (c Config) validate() []Problem {
	var ps []Problem
	bad := func(name, format string, args ...any) {
		ps = append(ps, Problem{Var: name, Msg: fmt.Sprintf(format, args...)})
	}

	if err := checkHostPort(c.Addr, true); err != nil {
		bad(EnvAddr, "%v, got %q", err, c.Addr)
	}

	if c.PprofAddr != "" {
		if err := checkLoopback(c.PprofAddr); err != nil {
			bad(EnvPprofAddr, "%v, got %q", err, c.PprofAddr)
		}
	}

	if !validMode(c.RedisMode) {
		bad(EnvRedisMode, "must be standalone, cluster or sentinel, got %q", c.RedisMode)
	}
	if c.RedisURL != "" {
		if c.RedisMode == ModeStandalone {
			if err := checkRedisURL(c.RedisURL); err != nil {
				bad(EnvRedisURL, "%v, got %q", err, RedactURL(c.RedisURL))
			}
		} else if validMode(c.RedisMode) {
			bad(EnvRedisURL, "only used in standalone mode; in %s mode use %s", c.RedisMode, EnvRedisAddrs)
		}
	}
	for _, a := range c.RedisAddrs {
		if err := checkRedisAddr(a); err != nil {
			bad(EnvRedisAddrs, "%v, got %q", err, redactAddr(a))
		}
	}
	switch c.RedisMode {
	case ModeStandalone:
		// Settings that standalone would silently ignore are mistakes: the
		// operator believes they are in force.
		if len(c.RedisAddrs) > 0 {
			bad(EnvRedisAddrs, "only used in cluster or sentinel mode; set %s=cluster or sentinel, or use %s", EnvRedisMode, EnvRedisURL)
		}
		if c.RedisMaster != "" {
			bad(EnvRedisMaster, "only used in sentinel mode")
		}
		if c.RedisPassword != "" {
			bad(EnvRedisPassword, "only used in cluster or sentinel mode; in standalone mode put the password in %s", EnvRedisURL)
		}
		if c.RedisTLS {
			bad(EnvRedisTLS, "only used in cluster or sentinel mode; in standalone mode use a rediss:// URL")
		}
	case ModeCluster:
		if len(c.RedisAddrs) == 0 {
			bad(EnvRedisAddrs, "required in cluster mode: a comma list of seed nodes host:port")
		}
		if c.RedisMaster != "" {
			bad(EnvRedisMaster, "only used in sentinel mode")
		}
	case ModeSentinel:
		if len(c.RedisAddrs) == 0 {
			bad(EnvRedisAddrs, "required in sentinel mode: a comma list of sentinels host:port")
		}
		if c.RedisMaster == "" {
			bad(EnvRedisMaster, "required in sentinel mode: the master name the sentinels monitor")
		}
	}
	checkDuration(bad, EnvRedisTimeout, c.RedisTimeout, time.Nanosecond, time.Minute)
	checkInt(bad, EnvRedisWaitReplicas, c.RedisWaitReplicas, 0, 10)
	// WAIT with a timeout of 0 blocks forever, so zero is never acceptable.
	checkDuration(bad, EnvRedisWaitTimeout, c.RedisWaitTimeout, time.Millisecond, time.Minute)
	// WAIT rides in the same round trip as the revocation: a Redis timeout
	// that is not longer than the WAIT timeout turns a replica shortfall
	// into a network error, and the batch's events would be skipped.
	if c.RedisWaitReplicas > 0 && c.RedisTimeout <= c.RedisWaitTimeout {
		bad(EnvRedisTimeout, "must be longer than %s (%s) when %s is set, got %s",
			EnvRedisWaitTimeout, c.RedisWaitTimeout, EnvRedisWaitReplicas, c.RedisTimeout)
	}

	if c.HS256Secret != "" && len(c.HS256Secret) < MinHS256SecretLen {
		bad(EnvHS256Secret, "must be at least %d bytes, got %d", MinHS256SecretLen, len(c.HS256Secret))
	}
	if c.JWKSURL != "" {
		if err := checkHTTPURL(c.JWKSURL); err != nil {
			bad(EnvJWKSURL, "%v, got %q", err, RedactURL(c.JWKSURL))
		}
	}
	if validMode(c.RedisMode) && !c.DevStore() && c.DevTokens() {
		// Dev tokens are signed with a secret generated at start: every replica
		// would have its own and a restart would invalidate all tokens.
		msg := "production needs " + EnvHS256Secret + " or " + EnvJWKSURL + ": a real Redis is configured, so no dev secret is generated"
		var set []string
		if c.Issuer != "" {
			set = append(set, EnvIssuer)
		}
		if c.Audience != "" {
			set = append(set, EnvAudience)
		}
		if len(set) > 0 {
			msg += "; " + strings.Join(set, " and ") + " cannot be checked without one"
		}
		bad(EnvHS256Secret+" or "+EnvJWKSURL, "%s", msg)
	}

	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad(EnvLogLevel, "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	switch c.LogFormat {
	case "json", "console":
	default:
		bad(EnvLogFormat, "must be json or console, got %q", c.LogFormat)
	}

	checkDuration(bad, EnvMaxSessionLifetime, c.MaxSessionLifetime, time.Nanosecond, 8760*time.Hour)
	checkDuration(bad, EnvSweepInterval, c.SweepInterval, time.Second, 0)
	checkInt(bad, EnvRevokeBatch, c.RevokeBatch, 1, 10000)
	checkInt(bad, EnvViewShards, c.ViewShards, 1, MaxViewShards)
	checkDuration(bad, EnvShutdownTimeout, c.ShutdownTimeout, time.Nanosecond, 0)
	if c.ActivityInterval != 0 {
		checkDuration(bad, EnvActivityInterval, c.ActivityInterval, time.Second, 0)
	}
	checkInt(bad, EnvEventRetention, c.EventRetention, 1000, 10_000_000)
	if c.HistoryRetention != 0 {
		checkDuration(bad, EnvHistoryRetention, c.HistoryRetention, time.Second, 8760*time.Hour)
	}
	checkInt(bad, EnvHistoryMax, c.HistoryMaxPerTenant, 1, 10_000_000)
	checkInt(bad, EnvDefaultMaxSessions, c.DefaultMaxSessionsPerUser, 0, 10000)
	if c.DefaultOnLimit != "evict_oldest" && c.DefaultOnLimit != "refuse" {
		bad(EnvDefaultOnLimit, "must be evict_oldest or refuse, got %q", c.DefaultOnLimit)
	}
	if c.DefaultIdleTimeout != 0 {
		checkDuration(bad, EnvDefaultIdleTimeout, c.DefaultIdleTimeout, time.Second, c.MaxSessionLifetime)
	}
	checkDuration(bad, EnvVerifyCacheMaxAge, c.VerifyCacheMaxAge, time.Millisecond, time.Minute)
	checkDuration(bad, EnvSigningOverlap, c.SigningOverlap, 0, 8760*time.Hour)
	checkInt(bad, EnvPushTries, c.PushTries, 1, 100)
	checkDuration(bad, EnvPushTimeout, c.PushTimeout, 100*time.Millisecond, time.Minute)
	if len(c.SigningPreviousKeyFiles) > 0 && c.SigningKeyFile == "" {
		bad(EnvSigningPrevious, "needs %s (the current key)", EnvSigningKeyFile)
	}
	if c.DefaultMaxLifetime != 0 {
		checkDuration(bad, EnvDefaultMaxLifetime, c.DefaultMaxLifetime, time.Second, c.MaxSessionLifetime)
	}
	return ps
}

func validMode(m string) bool {
	return m == ModeStandalone || m == ModeCluster || m == ModeSentinel
}

// checkDuration reports d outside [lo, hi]; hi == 0 means no upper bound.
func checkDuration(bad func(string, string, ...any), name string, d, lo, hi time.Duration) {
	switch {
	case d < lo && lo == time.Nanosecond:
		bad(name, "must be positive, got %s", d)
	case d < lo:
		bad(name, "must be at least %s, got %s", lo, d)
	case hi > 0 && d > hi:
		bad(name, "must be at most %s, got %s", hi, d)
	}
}

func checkInt(bad func(string, string, ...any), name string, n, lo, hi int) {
	if n < lo || n > hi {
		bad(name, "must be between %d and %d, got %d", lo, hi, n)
	}
}

// checkHostPort accepts host:port with a numeric port; an empty host (listen
// on all interfaces) and port 0 (any free port) only when listening.
func checkHostPort(s string, listen bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("must be host:port")
	}
	if host == "" && !listen {
		return errors.New("must be host:port with a host")
	}
	n, err := strconv.Atoi(port)
	lo := 1
	if listen {
		lo = 0
	}
	if err != nil || n < lo || n > 65535 {
		return fmt.Errorf("must be host:port with a port between %d and 65535", lo)
	}
	return nil
}

// checkRedisAddr accepts a cluster node or sentinel as host:port. A URL or
// an address with credentials is refused: go-redis would dial it as a host
// name, and the password belongs in SESSIOND_REDIS_PASSWORD, which is masked.
func checkRedisAddr(s string) error {
	if strings.Contains(s, "@") {
		return fmt.Errorf("must be host:port without credentials (put the password in %s)", EnvRedisPassword)
	}
	return checkHostPort(s, false)
}

// checkLoopback accepts a listen address on a loopback host only: profiles
// are not for the network.
func checkLoopback(s string) error {
	if err := checkHostPort(s, true); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(s)
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New("must be a loopback host:port (127.0.0.1, [::1] or localhost)")
	}
	return nil
}

// checkRedisURL parses s as go-redis will. Errors from net/url quote the
// whole URL, password included, so only their inner cause is kept.
func checkRedisURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("must be a redis:// or rediss:// URL (%v)", unwrapURLError(err))
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return errors.New("must be a redis:// or rediss:// URL")
	}
	if u.Host == "" {
		return errors.New("must be a redis:// or rediss:// URL with a host")
	}
	if _, err := redis.ParseURL(s); err != nil {
		return fmt.Errorf("must be a valid Redis URL (%v)", unwrapURLError(err))
	}
	return nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("must be an absolute http or https URL (%v)", unwrapURLError(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http or https URL")
	}
	return nil
}

func unwrapURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}
