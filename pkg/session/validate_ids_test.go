package session_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/pkg/session"
)

// TestDotOnlyIDs: no id kind accepts an id made only of dots ("." and ".."
// are URL dot-segments a normalising client or proxy rewrites), while dots
// among other characters stay valid where the grammar allows them.
func TestDotOnlyIDs(t *testing.T) {
	validators := []struct {
		name  string
		valid func(string) bool
	}{
		{"ValidID", session.ValidID},
		{"ValidTenantID", session.ValidTenantID},
		{"ValidUserID", session.ValidUserID},
	}
	for _, v := range validators {
		for _, s := range []string{".", "..", "...", strings.Repeat(".", session.MaxIDLen)} {
			t.Run(fmt.Sprintf("%s %d dots", v.name, len(s)), func(t *testing.T) {
				if v.valid(s) {
					t.Errorf("%s(%q): got true, want false", v.name, s)
				}
			})
		}
	}
	tests := []struct {
		name  string
		valid func(string) bool
		s     string
		want  bool
	}{
		{"tenant leading dots", session.ValidTenantID, "..t", true},
		{"tenant trailing dot", session.ValidTenantID, "t.", true},
		{"tenant dot inside", session.ValidTenantID, "acme.eu", true},
		{"user leading dots", session.ValidUserID, "..u", true},
		{"user dot inside", session.ValidUserID, "ann.lee@example.com", true},
		{"session dot inside", session.ValidID, "a.b", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.valid(tc.s); got != tc.want {
				t.Errorf("got %v for %q, want %v", got, tc.s, tc.want)
			}
		})
	}
}

func TestOnlyDots(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"", false},
		{".", true},
		{"..", true},
		{"....", true},
		{".a", false},
		{"a.", false},
		{". .", false},
		{"%2E%2E", false},
	} {
		if got := session.OnlyDots(tc.s); got != tc.want {
			t.Errorf("OnlyDots(%q): got %v, want %v", tc.s, got, tc.want)
		}
	}
}
