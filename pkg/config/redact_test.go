package config_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/pkg/config"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"redis://redis.example:6379/0", "redis://redis.example:6379/0"},
		{"redis://alice@redis.example:6379/0", "redis://alice@redis.example:6379/0"},
		{"redis://alice:pw@redis.example:6379/0", "redis://alice:***@redis.example:6379/0"},
		{"rediss://:p%40ss@redis.example", "rediss://:***@redis.example"},
		{"http://user:s3cretpw@idp.example/jwks.json", "http://user:***@idp.example/jwks.json"},
		{"redis://user:s3cretpw@h h:6379", "***"}, // does not parse
	}
	for _, tc := range tests {
		if got := config.RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestRedactSpellings: a secret is masked in every spelling text may quote
// it in: raw, JSON-escaped (a log line), Go-quoted (%q) and, inside a URL,
// percent-encoded.
func TestRedactSpellings(t *testing.T) {
	const hs = `hs"secret\0123456789abcdef0123456789`
	cfg := config.Config{
		HS256Secret: hs,
		JWKSURL:     "https://idp:a%22b%5Cc@idp.example/jwks", // password a"b\c
	}
	for _, text := range []string{
		`{"msg":"x","error":"` + strings.ReplaceAll(strings.ReplaceAll(hs, `\`, `\\`), `"`, `\"`) + `"}`,
		fmt.Sprintf("error %q", hs),
		`{"error":"bad key a\"b\\c"}`,
		`Get "https://idp:a%22b%5Cc@idp.example/jwks"`,
		fmt.Sprintf("%q", "a\"b\\c"),
	} {
		got := cfg.Redact(text)
		if strings.Contains(got, "secret") || strings.Contains(got, `a\"b`) || strings.Contains(got, "a%22b") || strings.Contains(got, `a"b`) {
			t.Errorf("Redact(%s) = %s, want every spelling masked", text, got)
		}
	}
	if got, want := config.URLRedactor(cfg.JWKSURL).Redact(`for "https://idp:a%22b%5Cc@idp.example/jwks"`), `for "https://idp:***@idp.example/jwks"`; got != want {
		t.Errorf("URLRedactor: got %s, want %s", got, want)
	}
}

// TestRedisAddrsWithCredentials: a sentinel or cluster address pasted with
// credentials (or as a URL) is refused, and neither the error nor the
// config dump repeats the password.
func TestRedisAddrsWithCredentials(t *testing.T) {
	const pw = "s3cretpw"
	for _, addr := range []string{
		"redis://:" + pw + "@sentinel:26379",
		"user:" + pw + "@sentinel:26379",
		pw + "@sentinel:26379",
	} {
		t.Run(addr, func(t *testing.T) {
			_, err := config.Load(env(with(sentinel, config.EnvRedisAddrs, "s1:26379,"+addr)))
			ps := mustProblems(t, err)
			if len(ps) != 1 || ps[0].Var != config.EnvRedisAddrs || !strings.Contains(ps[0].Msg, "without credentials") {
				t.Errorf("got %v, want one %s problem saying without credentials", err, config.EnvRedisAddrs)
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("error: got %q, want no password", err)
			}
			c := config.Default()
			c.RedisMode, c.RedisAddrs = config.ModeSentinel, []string{"s1:26379", addr}
			if s := c.String(); strings.Contains(s, pw) || !strings.Contains(s, "s1:26379") {
				t.Errorf("config dump: got %s, want the addresses without the password", s)
			}
		})
	}
}
