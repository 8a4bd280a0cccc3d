package session_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

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

func TestPolicyBound(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	p := session.Policy{MaxLifetime: time.Hour, IdleTimeout: 10 * time.Minute}
	tests := []struct {
		name     string
		p        session.Policy
		abs      time.Time
		idle     time.Duration
		wantAbs  time.Time
		wantIdle time.Duration
		wantOK   bool
	}{
		{"none given, policy gives both", p, time.Time{}, 0, now.Add(time.Hour), 10 * time.Minute, true},
		{"within the ceilings", p, now.Add(30 * time.Minute), 5 * time.Minute, now.Add(30 * time.Minute), 5 * time.Minute, true},
		{"beyond the ceilings", p, now.Add(5 * time.Hour), time.Hour, now.Add(time.Hour), 10 * time.Minute, true},
		{"no policy keeps what was given", session.Policy{}, now.Add(5 * time.Hour), time.Hour, now.Add(5 * time.Hour), time.Hour, true},
		{"no policy, no expiry", session.Policy{}, time.Time{}, 0, time.Time{}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			abs, idle, ok := tc.p.Bound(now, tc.abs, tc.idle)
			if !abs.Equal(tc.wantAbs) || idle != tc.wantIdle || ok != tc.wantOK {
				t.Errorf("Bound = %v, %v, %v; want %v, %v, %v", abs, idle, ok, tc.wantAbs, tc.wantIdle, tc.wantOK)
			}
		})
	}
}

func TestPolicyEffective(t *testing.T) {
	def := session.Policy{MaxSessionsPerUser: 5, OnLimit: session.OnLimitRefuse, IdleTimeout: time.Minute, MaxLifetime: time.Hour}
	if got := (session.Policy{}).Effective(def); got != def {
		t.Errorf("empty policy: %+v, want the default %+v", got, def)
	}
	own := session.Policy{MaxSessionsPerUser: 3, OnLimit: session.OnLimitEvictOldest}
	want := session.Policy{MaxSessionsPerUser: 3, OnLimit: session.OnLimitEvictOldest, IdleTimeout: time.Minute, MaxLifetime: time.Hour}
	if got := own.Effective(def); got != want {
		t.Errorf("own policy: %+v, want %+v", got, want)
	}
	if got := (session.Policy{}).Effective(session.Policy{}); got.OnLimit != session.OnLimitEvictOldest {
		t.Errorf("no default on_limit: %q, want evict_oldest", got.OnLimit)
	}
}
