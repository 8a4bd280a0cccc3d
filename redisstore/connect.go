package redisstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/config"
)

// No command retries: go-redis retries a command whose reply timed out, and
// the scripts are not idempotent (a create run twice answers 409, a revoke
// run twice finds nothing and skips its events). A timeout is a 503 and the
// caller decides. Dials retry once, quickly.
const (
	maxRetries         = -1
	dialerRetries      = 1
	dialerRetryTimeout = 50 * time.Millisecond
	// clusterStateReload bounds how long a cluster client keeps sending a
	// failed-over master's slots to the dead master. go-redis reloads the
	// slot map at once only on MOVED/ASK, which a dead node never answers,
	// and otherwise every 60s: a minute of 503s after every failover.
	clusterStateReload = 2 * time.Second
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
		o.Timeout = config.DefaultRedisTimeout
	}
	var tlsCfg *tls.Config
	if o.TLS {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	switch o.Mode {
	case "", "standalone":
		opt, err := redis.ParseURL(o.URL)
		if err != nil {
			// net/url's errors quote the URL whole, password included:
			// keep their cause and name the URL redacted.
			if ue, ok := errors.AsType[*url.Error](err); ok {
				err = ue.Err
			}
			return nil, fmt.Errorf("redisstore: redis url %s: %w", config.RedactURL(o.URL), err)
		}
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = o.Timeout, o.Timeout, o.Timeout
		opt.MaxRetries, opt.DialerRetries, opt.DialerRetryTimeout = maxRetries, dialerRetries, dialerRetryTimeout
		return redis.NewClient(opt), nil
	case "cluster":
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: o.Addrs, Password: o.Password, TLSConfig: tlsCfg,
			DialTimeout: o.Timeout, ReadTimeout: o.Timeout, WriteTimeout: o.Timeout,
			MaxRetries: maxRetries, DialerRetries: dialerRetries, DialerRetryTimeout: dialerRetryTimeout,
			ClusterStateReloadInterval: clusterStateReload,
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
