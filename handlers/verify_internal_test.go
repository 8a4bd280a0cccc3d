package handlers

import (
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/sessiond/sessiond/pkg/session"
)

// TestMaybeTouchSkipAllocatesNothing: a verify that records no activity
// (the common case: within the interval, or throttling off) costs no
// allocation; only the ids go to the writing goroutine, never the session.
func TestMaybeTouchSkipAllocatesNothing(t *testing.T) {
	now := time.Now()
	s := session.Session{ID: "s1", TenantID: "T1", UserID: "u1", CreatedAt: now.Add(-time.Hour), LastActivityAt: now.Add(-time.Second)}
	tests := []struct {
		name string
		t    *activityThrottle
	}{
		{"throttling off", nil},
		{"zero interval", newActivityThrottle(0)},
		{"within the interval", newActivityThrottle(time.Minute)},
	}
	log := zap.NewNop()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The store is never reached on these paths.
			got := testing.AllocsPerRun(100, func() { tc.t.maybeTouch(nil, &s, now, log) })
			if got != 0 {
				t.Errorf("got %v allocations, want 0", got)
			}
		})
	}
}
