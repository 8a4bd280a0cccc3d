package session_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/pkg/session"
)

// The documented syntax of each identifier (the wire format, docs/api.md for session ids, the
// validators' doc comments for the others), as regular expressions.
var (
	sessionIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	tenantIDRE  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
	userIDRE    = regexp.MustCompile(`^[A-Za-z0-9._@:|+-]{1,256}$`)
	eventIDRE   = regexp.MustCompile(`^[0-9]{1,20}(-[0-9]{1,20})?(\.[0-9]{1,6})?$`)
)

// FuzzValidators checks every validator against its documented syntax, in
// both directions: what it accepts matches, and what matches it accepts.
// Accepted ids end up inside Redis keys and hash tags, so a byte outside the
// charset (a brace, a colon in a session id, a NUL, a multi-byte rune) must
// never pass.
func FuzzValidators(f *testing.F) {
	for _, s := range []string{
		"", "a", "t1-u1-a", "0190f3c2-7b1e-7c3a-9d2e-3f4a5b6c7d8e", "T.1", "a@b.c", "auth0|123", "u:1+2",
		"{T1}", "a b", "a\x00", "é", "ａ", "a\n", "..", "1700000000000-0", "1700000000000", "-1", "1-", "1--2",
		"desktop", "Desktop", "bot ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checks := []struct {
			name string
			got  bool
			want bool
		}{
			{"ValidID", session.ValidID(s), sessionIDRE.MatchString(s)},
			{"ValidTenantID", session.ValidTenantID(s), tenantIDRE.MatchString(s) && strings.Trim(s, ".") != ""},
			{"ValidUserID", session.ValidUserID(s), userIDRE.MatchString(s) && strings.Trim(s, ".") != ""},
			{"ValidEventID", session.ValidEventID(s), eventIDRE.MatchString(s)},
			{"ValidDeviceType", session.ValidDeviceType(s), slices.Contains([]string{"desktop", "mobile", "tablet", "bot", "unknown"}, s)},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s(%q) = %v, want %v", c.name, s, c.got, c.want)
			}
		}
	})
}
