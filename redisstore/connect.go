package redisstore

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Retries are few: with Redis down, a request should end in 503 quickly
// rather than after seconds of go-redis's default retries.
const (
	maxRetries         = 1
	dialerRetries      = 1
	dialerRetryTimeout = 50 * time.Millisecond
)

// ConnectOptions say how to reach Redis.
type ConnectOptions struct {
	// Mode is "standalone", "cluster" or "sentinel".
	Mode string
	// URL addresses a standalone server (redis:// or rediss://).
	URL string
	// Addrs are cluster seed nodes or sentinels.
	Addrs []string
	// Master is the sentinel master name.
	Master   string
	Password string
	TLS      bool
	// Timeout bounds dialling and each read and write.
	Timeout time.Duration
}

// Connect returns a client for the configured topology. It does not dial:
// the first command does, and /readyz reports whether Redis answers.
func Connect(o ConnectOptions) (redis.UniversalClient, error) {
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	var tlsCfg *tls.Config
	if o.TLS {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	switch o.Mode {
	case "", "standalone":
		opt, err := redis.ParseURL(o.URL)
		if err != nil {
			return nil, fmt.Errorf("redisstore: redis url: %w", err)
		}
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = o.Timeout, o.Timeout, o.Timeout
		opt.MaxRetries, opt.DialerRetries, opt.DialerRetryTimeout = maxRetries, dialerRetries, dialerRetryTimeout
		return redis.NewClient(opt), nil
	case "cluster":
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: o.Addrs, Password: o.Password, TLSConfig: tlsCfg,
			DialTimeout: o.Timeout, ReadTimeout: o.Timeout, WriteTimeout: o.Timeout,
			MaxRetries: maxRetries, DialerRetries: dialerRetries, DialerRetryTimeout: dialerRetryTimeout,
		}), nil
	case "sentinel":
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: o.Master, SentinelAddrs: o.Addrs, Password: o.Password, TLSConfig: tlsCfg,
			DialTimeout: o.Timeout, ReadTimeout: o.Timeout, WriteTimeout: o.Timeout,
			MaxRetries: maxRetries, DialerRetries: dialerRetries, DialerRetryTimeout: dialerRetryTimeout,
		}), nil
	default:
		return nil, fmt.Errorf("redisstore: unknown redis mode %q", o.Mode)
	}
}

// SetLogger sends go-redis's own log lines (dial failures, reconnects) to
// logf, so that every line the process writes has the same format.
func SetLogger(logf func(msg string)) {
	redis.SetLogger(printfLogger(logf))
}

type printfLogger func(msg string)

func (l printfLogger) Printf(_ context.Context, format string, v ...any) {
	l(fmt.Sprintf(format, v...))
}
