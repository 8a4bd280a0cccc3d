package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/sessiond/sessiond/pkg/config"
)

// TestSecretsNeverPrinted: start-up failures with credentials in the JWKS
// URL, the Redis URL or the Sentinel and Cluster password print neither in
// the returned error (what main writes to stderr) nor in any log line.
func TestSecretsNeverPrinted(t *testing.T) {
	const pw = "s3cretpw"
	closed := freeAddr(t) // nobody listens there
	cases := []struct {
		name string
		env  map[string]string
	}{
		{"jwks url with userinfo", map[string]string{
			config.EnvJWKSURL: "http://user:" + pw + "@" + closed + "/jwks.json",
		}},
		{"jwks url with an escaped password", map[string]string{
			config.EnvJWKSURL: "http://user:" + pw + "%2F1@" + closed + "/jwks.json",
		}},
		{"redis url unreachable", map[string]string{
			config.EnvHS256Secret: "0123456789abcdef0123456789abcdef",
			config.EnvRedisURL:    "redis://user:" + pw + "@" + closed + "/0",
		}},
		{"redis url malformed", map[string]string{
			config.EnvHS256Secret: "0123456789abcdef0123456789abcdef",
			config.EnvRedisURL:    "redis://user:" + pw + "@" + closed + "/x",
		}},
		{"sentinel password", map[string]string{
			config.EnvHS256Secret:   "0123456789abcdef0123456789abcdef",
			config.EnvRedisMode:     "sentinel",
			config.EnvRedisAddrs:    closed,
			config.EnvRedisMaster:   "mymaster",
			config.EnvRedisPassword: pw,
		}},
		{"cluster password", map[string]string{
			config.EnvHS256Secret:   "0123456789abcdef0123456789abcdef",
			config.EnvRedisMode:     "cluster",
			config.EnvRedisAddrs:    closed,
			config.EnvRedisPassword: pw,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuffer{}
			old := logOutput
			logOutput = logs
			t.Cleanup(func() { logOutput = old })
			tc.env[config.EnvAddr] = "127.0.0.1:0"
			tc.env[config.EnvRedisTimeout] = "300ms"
			// sessiond starts without Redis (and answers 503): it runs
			// until the deadline, logging what fails meanwhile.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			var text string
			if err := run(ctx, nil, envMap(tc.env), &syncBuffer{}); err != nil {
				text = err.Error()
			}
			text += logs.String()
			if text == "" {
				t.Fatal("no error and no log line: the test shows nothing")
			}
			if strings.Contains(text, pw) {
				t.Errorf("the error or the logs print the password:\n%s", text)
			}
		})
	}
}

// TestRedactor: every secret of a configuration, in every spelling a URL
// in an error may use, becomes "***".
func TestRedactor(t *testing.T) {
	cfg := config.Config{
		HS256Secret: "hs-secret-123", RedisPassword: "redispw",
		RedisURL: "redis://u:p%40ss@h:6379/0", JWKSURL: "https://idp:jw%2Fks@idp.example/jwks",
	}
	in := "a hs-secret-123 b redispw c p@ss d p%40ss e jw/ks f jw%2Fks g"
	want := "a *** b *** c *** d *** e *** f *** g"
	if got := cfg.Redact(in); got != want {
		t.Errorf("Redact: got %q, want %q", got, want)
	}
}

// TestLogsEscapeStoredText: stored strings reach the logs only as fields,
// and both log formats escape their control characters: a user agent
// cannot forge a log line or reach a terminal that tails the logs raw.
func TestLogsEscapeStoredText(t *testing.T) {
	for _, format := range []string{"json", "console"} {
		t.Run(format, func(t *testing.T) {
			logs := &syncBuffer{}
			old := logOutput
			logOutput = logs
			t.Cleanup(func() { logOutput = old })
			log, err := newLogger(config.Config{LogLevel: "info", LogFormat: format})
			if err != nil {
				t.Fatal(err)
			}
			log.Info("request", zap.String("user_agent", "Mozilla\x1b]0;owned\x07\r\n{\"level\":\"error\"}"))
			_ = log.Sync()
			out := strings.TrimSuffix(logs.String(), "\n")
			if strings.ContainsAny(out, "\x1b\x07\r\n") {
				t.Errorf("a %s log line holds raw control characters: %q", format, out)
			}
		})
	}
}
