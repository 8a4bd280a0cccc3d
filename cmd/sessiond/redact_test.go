package main

import (
	"context"
	"encoding/json"
	stdlog "log"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/sessiond/sessiond/internal/testserver"
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
		{"sentinel address with credentials", map[string]string{
			config.EnvHS256Secret: "0123456789abcdef0123456789abcdef",
			config.EnvRedisMode:   "sentinel",
			config.EnvRedisAddrs:  "redis://:" + pw + "@" + closed,
			config.EnvRedisMaster: "mymaster",
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
			logs := &testserver.SyncBuffer{}
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
			if err := run(ctx, nil, envMap(tc.env), &testserver.SyncBuffer{}); err != nil {
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

// TestRedisURLErrorRedacted: a Redis URL that net/url cannot parse, given
// to openRedis without config validation in front, fails with the URL
// redacted: net/url's error quotes it whole.
func TestRedisURLErrorRedacted(t *testing.T) {
	const pw = "s3cretpw"
	for _, raw := range []string{
		"redis://user:" + pw + "@127.0.0.1:6379:x/0",
		"redis://user:" + pw + "@127.0.0.1:port/0",
	} {
		_, _, err := openRedis(config.Config{RedisMode: config.ModeStandalone, RedisURL: raw}, zap.NewNop())
		if err == nil {
			t.Fatalf("openRedis(%s): got nil error, want one", raw)
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("openRedis: got error %q, want no password", err)
		}
	}
}

// TestLibraryLogsRedacted: what a library writes to the standard log or to
// slog's default logger (keyfunc logs failed JWKS refreshes there) goes
// through sessiond's sink: JSON, with the secrets masked.
func TestLibraryLogsRedacted(t *testing.T) {
	const pw = "s3cretpw"
	logs := &testserver.SyncBuffer{}
	old := logOutput
	logOutput = logs
	t.Cleanup(func() { logOutput = old })
	ctx, cancel := context.WithCancel(context.Background())
	env := map[string]string{
		config.EnvAddr:         "127.0.0.1:0",
		config.EnvHS256Secret:  "0123456789abcdef0123456789abcdef",
		config.EnvRedisURL:     "redis://user:" + pw + "@" + freeAddr(t) + "/0",
		config.EnvRedisTimeout: "300ms",
	}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, envMap(env), &testserver.SyncBuffer{}) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"listening"`) {
		if time.Now().After(deadline) {
			t.Fatalf("sessiond did not start; logs:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	stdlog.Print("stdlog: dial redis://user:" + pw + "@db failed")
	slog.Default().Warn("slog: refresh failed", "url", "redis://user:"+pw+"@db")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	out := logs.String()
	for _, want := range []string{"stdlog: dial", "slog: refresh failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q: the library line bypassed the sink:\n%s", want, out)
		}
	}
	if strings.Contains(out, pw) {
		t.Errorf("the logs print the password:\n%s", out)
	}
}

// TestLogsEscapeStoredText: stored strings reach the logs only as fields,
// and both log formats escape what a terminal acts on (C0 controls by
// zap's encoders; DEL, C1, bidi and other format characters, and the
// Unicode line separators by logWriter): a user agent cannot forge a log
// line or reach a terminal that tails the logs raw. A JSON line still
// decodes to the exact stored text.
func TestLogsEscapeStoredText(t *testing.T) {
	ua := "Mozilla\x1b]0;owned\x07\r\n{\"level\":\"error\"} \x7f\u009b2J \u202eevil\u2028\u200b\U000e0041 Zürich"
	for _, format := range []string{"json", "console"} {
		t.Run(format, func(t *testing.T) {
			logs := &testserver.SyncBuffer{}
			old := logOutput
			logOutput = logs
			t.Cleanup(func() { logOutput = old })
			log, err := newLogger(config.Config{LogLevel: "info", LogFormat: format})
			if err != nil {
				t.Fatal(err)
			}
			log.Info("request", zap.String("user_agent", ua))
			_ = log.Sync()
			out := strings.TrimSuffix(logs.String(), "\n")
			if strings.ContainsAny(out, "\x1b\x07\r\n\x7f\u009b\u202e\u2028\u200b\U000e0041") {
				t.Errorf("a %s log line holds raw control or format characters: %q", format, out)
			}
			if !strings.Contains(out, "Zürich") {
				t.Errorf("a %s log line lost ordinary text: %q", format, out)
			}
			if format != "json" {
				return
			}
			var line struct {
				UserAgent string `json:"user_agent"`
			}
			if err := json.Unmarshal([]byte(out), &line); err != nil {
				t.Fatalf("the JSON log line does not decode: %v\n%s", err, out)
			}
			if line.UserAgent != ua {
				t.Errorf("decoded user_agent: got %q, want %q", line.UserAgent, ua)
			}
		})
	}
}
