package config

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// RedactURL is s with the password of its userinfo replaced by "***"; a
// string that does not parse as a URL yet may hold credentials is masked
// whole. It is the one redaction of URLs that sessiond prints: the config
// dump, validation errors, the JWKS and Redis errors.
func RedactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") {
			return masked
		}
		return s
	}
	if u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	// URL.String would percent-encode "***"; a placeholder of plain letters
	// survives encoding and is then swapped.
	const placeholder = "MASKEDPASSWORD"
	u.User = url.UserPassword(u.User.Username(), placeholder)
	return strings.Replace(u.String(), ":"+placeholder+"@", ":"+masked+"@", 1)
}

// redactAddr masks whatever precedes the last '@' of a host:port: an
// address pasted with credentials ("user:pw@host:6379") is an error, and
// the error must not repeat them.
func redactAddr(a string) string {
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		return masked + a[i:]
	}
	return a
}

func redactAddrs(as []string) []string {
	if !slices.ContainsFunc(as, func(a string) bool { return strings.Contains(a, "@") }) {
		return as
	}
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = redactAddr(a)
	}
	return out
}

// Secrets are the secret strings of the configuration: the HS256 secret,
// the Redis password, and the passwords inside SESSIOND_REDIS_URL and
// SESSIOND_JWKS_URL. Each comes in every spelling that text quoting it may
// use: raw, percent-encoded (a URL in an error), JSON-escaped (a log line)
// and Go-quoted (%q). Redact removes them from any text.
func (c Config) Secrets() []string {
	var s secrets
	s.add(c.HS256Secret)
	s.add(c.RedisPassword)
	s.addURL(c.RedisURL)
	s.addURL(c.JWKSURL)
	return s.sorted()
}

// URLRedactor masks the password of rawURL, in every spelling, for a
// package given a URL whose errors may quote it (keyfunc quotes the JWKS
// URL whole).
func URLRedactor(rawURL string) Redactor {
	var s secrets
	s.addURL(rawURL)
	return Redactor(s.sorted())
}

type secrets []string

func (s *secrets) add(secret string) {
	for _, v := range []string{secret, jsonEscape(secret), goQuote(secret)} {
		if len(v) >= 3 && !slices.Contains(*s, v) { // shorter ones would mask ordinary text
			*s = append(*s, v)
		}
	}
}

// addURL adds the password of a URL, raw and in each percent-encoding.
func (s *secrets) addURL(raw string) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return
	}
	if pw, ok := u.User.Password(); ok {
		s.add(pw)
		s.add(url.QueryEscape(pw))
		s.add(url.PathEscape(pw))
		s.add(url.UserPassword("", pw).String()[1:]) // userinfo escaping
	}
}

// sorted is the set longest first, so that a secret containing another is
// masked whole.
func (s secrets) sorted() []string {
	slices.SortFunc(s, func(a, b string) int { return len(b) - len(a) })
	return s
}

// jsonEscape is s as it appears inside a JSON string (zap's encoder, like
// encoding/json without HTML escaping, escapes quotes, backslashes and
// control characters).
func jsonEscape(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return s
	}
	q := strings.TrimSuffix(b.String(), "\n")
	return q[1 : len(q)-1]
}

// goQuote is s as it appears inside a %q-quoted string.
func goQuote(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
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
