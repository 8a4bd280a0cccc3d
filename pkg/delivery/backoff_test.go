package delivery_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sessiond/sessiond/pkg/delivery"
)

// TestBackoffBounds: every delay lies in [0, min(max, base·2^attempt)),
// including attempts far past the point where the shift would overflow,
// and the delays are spread over the window rather than fixed.
func TestBackoffBounds(t *testing.T) {
	const base, maxDelay = 100 * time.Millisecond, 30 * time.Second
	rnd := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		attempt int
		ceiling time.Duration
	}{
		{-5, base},
		{0, base},
		{1, 2 * base},
		{4, 16 * base},
		{8, 25600 * time.Millisecond},
		{9, maxDelay},
		{62, maxDelay},
		{63, maxDelay},
		{1 << 30, maxDelay},
	}
	for _, tc := range tests {
		lo, hi := tc.ceiling, time.Duration(0)
		for range 2000 {
			d := delivery.Backoff(tc.attempt, base, maxDelay, rnd)
			if d < 0 || d >= tc.ceiling {
				t.Fatalf("attempt %d: got %v, want in [0, %v)", tc.attempt, d, tc.ceiling)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo > tc.ceiling/10 || hi < tc.ceiling*9/10 {
			t.Errorf("attempt %d: 2000 delays spanned [%v, %v], want most of [0, %v)", tc.attempt, lo, hi, tc.ceiling)
		}
	}
}

// TestBackoffDeterministic: the same seed gives the same delays.
func TestBackoffDeterministic(t *testing.T) {
	a, b := rand.New(rand.NewPCG(7, 9)), rand.New(rand.NewPCG(7, 9))
	for attempt := range 20 {
		da := delivery.Backoff(attempt, time.Second, time.Hour, a)
		db := delivery.Backoff(attempt, time.Second, time.Hour, b)
		if da != db {
			t.Fatalf("attempt %d: got %v and %v from the same seed", attempt, da, db)
		}
	}
}

func TestBackoffDegenerate(t *testing.T) {
	tests := []struct {
		name           string
		base, maxDelay time.Duration
		ceiling        time.Duration
	}{
		{"zero base", 0, time.Second, 0},
		{"zero max", time.Second, 0, 0},
		{"negative base", -time.Second, time.Second, 0},
		{"base above max", time.Minute, time.Second, time.Second},
		{"global generator", time.Second, time.Minute, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := delivery.Backoff(0, tc.base, tc.maxDelay, nil)
			if tc.ceiling == 0 && d != 0 || tc.ceiling != 0 && (d < 0 || d >= tc.ceiling) {
				t.Errorf("got %v, want in [0, %v)", d, tc.ceiling)
			}
		})
	}
}
