package config

import (
	"net/url"
	"slices"
	"strings"
)

// RedactURL is s with the password of its userinfo replaced by "***"; a
// string that does not parse as a URL yet may hold credentials is masked
// whole. It is the one redaction of URLs that sessiond prints.
func RedactURL(s string) string { return maskURL(s) }

// Secrets are the secret strings of the configuration: the HS256 secret,
// the Redis password, and the passwords inside SESSIOND_REDIS_URL and
// SESSIOND_JWKS_URL (also percent-encoded, as a URL in an error may carry
// them). Redact removes them from any text.
func (c Config) Secrets() []string {
	var out []string
	add := func(s string) {
		if len(s) >= 3 && !slices.Contains(out, s) { // shorter ones would mask ordinary text
			out = append(out, s)
		}
	}
	add(c.HS256Secret)
	add(c.RedisPassword)
	for _, raw := range []string{c.RedisURL, c.JWKSURL} {
		u, err := url.Parse(raw)
		if err != nil || u.User == nil {
			continue
		}
		if pw, ok := u.User.Password(); ok {
			add(pw)
			add(url.QueryEscape(pw))
			add(url.PathEscape(pw))
			add(url.UserPassword("", pw).String()[1:]) // userinfo escaping
		}
	}
	// Longest first, so that a secret containing another is masked whole.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// Redact returns s with every secret of the configuration replaced by
// "***": for errors and log lines whose text comes from libraries (a JWKS
// fetch, a Redis dial) that may quote a URL with its credentials.
func (c Config) Redact(s string) string { return Redactor(c.Secrets()).Redact(s) }

// Redactor masks a fixed set of secrets in text.
type Redactor []string

// Redact returns s with every secret replaced by "***".
func (r Redactor) Redact(s string) string {
	for _, secret := range r {
		if strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, masked)
		}
	}
	return s
}
