package session_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/pkg/session"
)

func TestTotalPages(t *testing.T) {
	cases := []struct {
		total   int64
		perPage int
		want    int64
	}{
		{0, 20, 0}, {1, 20, 1}, {20, 20, 1}, {21, 20, 2}, {45, 20, 3},
		{100, 100, 1}, {101, 100, 2}, {1_000_000, 1, 1_000_000}, {5, 0, 0},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d/%d", tc.total, tc.perPage), func(t *testing.T) {
			if got := session.TotalPages(tc.total, tc.perPage); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestPageOffset(t *testing.T) {
	cases := []struct {
		page session.Page
		want int64
	}{
		{session.Page{Number: 1, PerPage: 20}, 0},
		{session.Page{Number: 3, PerPage: 20}, 40},
		{session.Page{Number: 1_000_000_000, PerPage: 100}, 99_999_999_900},
	}
	for _, tc := range cases {
		if got := tc.page.Offset(); got != tc.want {
			t.Errorf("%+v: got %d, want %d", tc.page, got, tc.want)
		}
	}
}

func TestValidIdentifiers(t *testing.T) {
	cases := []struct {
		name  string
		valid func(string) bool
		in    string
		want  bool
	}{
		{"session uuid", session.ValidID, "0193a0e2-7f7c-7b8e-9a55-3c2f1d0e9b11", true},
		{"session underscore", session.ValidID, "abc_DEF-123", true},
		{"session empty", session.ValidID, "", false},
		{"session 128", session.ValidID, strings.Repeat("a", 128), true},
		{"session 129", session.ValidID, strings.Repeat("a", 129), false},
		{"session dot", session.ValidID, "a.b", false},
		{"session brace", session.ValidID, "a{b}", false},
		{"session space", session.ValidID, "a b", false},
		{"session unicode", session.ValidID, "ä", false},
		{"tenant dot", session.ValidTenantID, "acme.eu-1", true},
		{"tenant brace", session.ValidTenantID, "acme}", false},
		{"tenant slash", session.ValidTenantID, "a/b", false},
		{"user email", session.ValidUserID, "ann@example.com", true},
		{"user auth0", session.ValidUserID, "auth0|5f7c8ec7", true},
		{"user 256", session.ValidUserID, strings.Repeat("u", 256), true},
		{"user 257", session.ValidUserID, strings.Repeat("u", 257), false},
		{"user newline", session.ValidUserID, "u\n", false},
		{"device desktop", session.ValidDeviceType, "desktop", true},
		{"device phone", session.ValidDeviceType, "phone", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.valid(tc.in); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func ExampleTotalPages() {
	// 45 active sessions shown 20 per page: pages 1 and 2 are full, page 3
	// holds the last 5, and page 4 is an empty list with the same totals.
	fmt.Println(session.TotalPages(45, 20))
	// Output: 3
}

func ExampleFilter_Empty() {
	fmt.Println(session.Filter{}.Empty(), session.Filter{TenantID: "acme"}.Empty())
	// Output: true false
}
