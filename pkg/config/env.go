package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// loader reads typed values from the environment and records, rather than
// stops at, values that do not parse. A value that does not parse leaves the
// default in place, so validation does not report the variable a second time.
type loader struct {
	getenv   func(string) string
	problems []Problem
}

func (l *loader) fail(name, format string, args ...any) {
	l.problems = append(l.problems, Problem{Var: name, Msg: fmt.Sprintf(format, args...)})
}

// str returns the trimmed value, or def when it is empty.
func (l *loader) str(name, def string) string {
	if v := strings.TrimSpace(l.getenv(name)); v != "" {
		return v
	}
	return def
}

// secret returns the value untrimmed: whitespace may be part of a secret, and
// a secret differing by a trailing newline must fail loudly at the peer, not
// be silently "fixed" here.
func (l *loader) secret(name string) string { return l.getenv(name) }

// list splits a comma list, trimming items and dropping empty ones.
func (l *loader) list(name string) []string {
	var out []string
	for item := range strings.SplitSeq(l.getenv(name), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func (l *loader) boolean(name string, def bool) bool {
	v := l.str(name, "")
	if v == "" {
		return def
	}
	switch strings.ToLower(v) {
	case "on":
		return true
	case "off":
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.fail(name, "must be true or false (or on or off), got %q", v)
		return def
	}
	return b
}

func (l *loader) integer(name string, def int) int {
	v := l.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		l.fail(name, "must be an integer, got %q", v)
		return def
	}
	return n
}

func (l *loader) duration(name string, def time.Duration) time.Duration {
	v := l.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		l.fail(name, "must be a duration such as 500ms, 2s or 720h, got %q", v)
		return def
	}
	return d
}
