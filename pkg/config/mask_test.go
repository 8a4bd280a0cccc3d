package config_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/sessiond/sessiond/pkg/config"
)

const (
	urlSecret   = "urlpass-SECRET-1"
	redisSecret = "redispass-SECRET-2"
	hsSecret    = "hs256-SECRET-3-0123456789abcdef0123456789"
	jwksSecret  = "jwkspass-SECRET-4"
)

var secrets = []string{urlSecret, redisSecret, hsSecret, jwksSecret}

func assertNoSecret(tb testing.TB, where, text string) {
	tb.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			tb.Errorf("%s leaks secret %q:\n%s", where, s, text)
		}
	}
}

// logJSON renders fields the way production logs them.
func logJSON(fields ...zap.Field) string {
	var buf bytes.Buffer
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&buf), zapcore.DebugLevel)
	zap.New(core).Info("config", fields...)
	return buf.String()
}

func TestLogFieldsMasking(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Config
		want map[string]any // selected fields as logged
	}{
		{
			name: "all secrets set",
			cfg: func() config.Config {
				c := config.Default()
				c.RedisURL = "redis://user:" + urlSecret + "@redis.example:6379/2"
				c.RedisPassword = redisSecret
				c.HS256Secret = hsSecret
				c.JWKSURL = "https://idp:" + jwksSecret + "@idp.example/jwks"
				return c
			}(),
			want: map[string]any{
				"redis_url":        "redis://user:***@redis.example:6379/2",
				"redis_password":   "***",
				"jwt_hs256_secret": "***",
				"jwks_url":         "https://idp:***@idp.example/jwks",
			},
		},
		{
			name: "password only in url",
			cfg: func() config.Config {
				c := config.Default()
				c.RedisURL = "rediss://:" + urlSecret + "@redis.example:6380"
				return c
			}(),
			want: map[string]any{
				"redis_url":        "rediss://:***@redis.example:6380",
				"redis_password":   "",
				"jwt_hs256_secret": "",
			},
		},
		{
			name: "user without password is kept",
			cfg: func() config.Config {
				c := config.Default()
				c.RedisURL = "redis://alice@redis.example:6379/0"
				return c
			}(),
			want: map[string]any{"redis_url": "redis://alice@redis.example:6379/0"},
		},
		{
			name: "unparseable url with credentials is masked whole",
			cfg: func() config.Config {
				c := config.Default()
				c.RedisURL = "redis://user:" + urlSecret + "@redis example:6379"
				return c
			}(),
			want: map[string]any{"redis_url": "***"},
		},
		{
			name: "nothing set",
			cfg:  config.Default(),
			want: map[string]any{"redis_url": "", "redis_password": "", "jwt_hs256_secret": "", "jwks_url": ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc := zapcore.NewMapObjectEncoder()
			for _, f := range tc.cfg.LogFields() {
				f.AddTo(enc)
			}
			for k, want := range tc.want {
				if got := enc.Fields[k]; got != want {
					t.Errorf("field %s = %v, want %v", k, got, want)
				}
			}
			assertNoSecret(t, "LogFields", fmt.Sprint(enc.Fields))
			assertNoSecret(t, "JSON log of LogFields", logJSON(tc.cfg.LogFields()...))
			assertNoSecret(t, "JSON log of zap.Any", logJSON(zap.Any("config", tc.cfg)))
			assertNoSecret(t, "JSON log of zap.Object", logJSON(zap.Object("config", tc.cfg)))
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				assertNoSecret(t, "fmt "+verb, fmt.Sprintf(verb, tc.cfg))
			}
		})
	}
}

func TestLogFieldsComplete(t *testing.T) {
	c := config.Default()
	c.Issuer = "https://idp.example"
	out := logJSON(c.LogFields()...)
	for _, key := range []string{
		`"addr":":8080"`, `"redis_mode":"standalone"`, `"redis_timeout":2`, `"jwt_issuer":"https://idp.example"`,
		`"max_session_lifetime":2592000`, `"revoke_batch":1000`, `"event_retention":100000`,
		`"dev_store":true`, `"dev_tokens":true`, `"verify_activity_interval":0`,
	} {
		if !strings.Contains(out, key) {
			t.Errorf("log line lacks %s:\n%s", key, out)
		}
	}
	if s := c.String(); !strings.HasPrefix(s, "config{addr=:8080 ") {
		t.Errorf("String() = %q, want it to start with config{addr=:8080", s)
	}
}

// TestErrorsMaskSecrets feeds values that fail validation and checks that the
// error never repeats a secret, even when net/url would quote it.
func TestErrorsMaskSecrets(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		{"bad scheme", with(nil, config.EnvRedisURL, "http://u:"+urlSecret+"@h:6379/0", config.EnvJWKSURL, "https://idp/jwks"), config.EnvRedisURL},
		{"bad port", with(nil, config.EnvRedisURL, "redis://u:"+urlSecret+"@h:port/0", config.EnvJWKSURL, "https://idp/jwks"), config.EnvRedisURL},
		{"bad host", with(nil, config.EnvRedisURL, "redis://u:"+urlSecret+"@h h:6379/0", config.EnvJWKSURL, "https://idp/jwks"), config.EnvRedisURL},
		{"bad db", with(nil, config.EnvRedisURL, "redis://u:"+urlSecret+"@h:6379/x", config.EnvJWKSURL, "https://idp/jwks"), config.EnvRedisURL},
		{"bad jwks", with(nil, config.EnvJWKSURL, "ftp://u:"+jwksSecret+"@idp/jwks"), config.EnvJWKSURL},
		{"short secret", with(nil, config.EnvHS256Secret, hsSecret[:20]), config.EnvHS256Secret},
		{"password in standalone", with(nil, config.EnvRedisPassword, redisSecret), config.EnvRedisPassword},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(env(tc.env))
			ps := mustProblems(t, err)
			if len(ps) != 1 || ps[0].Var != tc.wantVar {
				t.Fatalf("got %v, want one problem with %s", err, tc.wantVar)
			}
			assertNoSecret(t, "error", err.Error())
			if strings.Contains(err.Error(), hsSecret[:20]) {
				t.Errorf("error leaks the short HS256 secret: %v", err)
			}
		})
	}
}
