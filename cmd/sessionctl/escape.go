package main

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// safe makes a string that came from sessiond (or a flag) harmless in a
// terminal: C0 and C1 controls, DEL, tabs and line breaks, Unicode format
// characters (bidi overrides such as U+202E, zero-width characters), line
// and paragraph separators and invalid UTF-8 are written as Go escapes
// (\x1b, \u202e, ...), so that a stored user agent cannot retitle, clear or
// rewrite the admin's terminal, nor break a table's columns. JSON output
// needs none of this: encoding/json escapes control characters itself.
func safe(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || unsafeRune(r) {
			return true
		}
		i += size
	}
	return false
}

// unsafeRune reports whether r must not reach a terminal as it is.
func unsafeRune(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
		unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}
