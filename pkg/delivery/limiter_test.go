package delivery_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sessiond/sessiond/pkg/delivery"
)

// TestLimiterBound: at most n holders per key at once, while another key
// is not held back; every waiter gets through once places free up.
func TestLimiterBound(t *testing.T) {
	const n, workers = 3, 40
	l := delivery.NewLimiter(n)
	var inFlight, peak, done atomic.Int64
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for range workers {
		wg.Go(func() {
			release, err := l.Acquire(context.Background(), "slow")
			if err != nil {
				t.Error(err)
				return
			}
			cur := inFlight.Add(1)
			for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
			}
			<-gate
			inFlight.Add(-1)
			done.Add(1)
			release()
		})
	}
	// While "slow" is saturated, another receiver still gets its places.
	other, err := l.Acquire(context.Background(), "fast")
	if err != nil {
		t.Fatal(err)
	}
	other()
	close(gate)
	wg.Wait()
	if p := peak.Load(); p > n {
		t.Errorf("peak in flight: got %d, want <= %d", p, n)
	}
	if d := done.Load(); d != workers {
		t.Errorf("done: got %d, want %d", d, workers)
	}
	if k := delivery.TrackedKeys(l); k != 0 {
		t.Errorf("keys tracked after all releases: got %d, want 0", k)
	}
}

func TestLimiterAcquire(t *testing.T) {
	l := delivery.NewLimiter(0) // counts as 1
	release, ok := l.TryAcquire("r1")
	if !ok {
		t.Fatal("TryAcquire on a free key: got false")
	}
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"TryAcquire on a full key", func() error {
			if _, ok := l.TryAcquire("r1"); ok {
				return errors.New("got a place")
			}
			return nil
		}, nil},
		{"Acquire on a full key ends with its context", func() error {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := l.Acquire(ctx, "r1")
			return err
		}, context.Canceled},
		{"another key is free", func() error {
			r, ok := l.TryAcquire("r2")
			if !ok {
				return errors.New("no place")
			}
			r()
			return nil
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	if k := delivery.TrackedKeys(l); k != 1 {
		t.Errorf("keys tracked while r1 is held: got %d, want 1", k)
	}
	release()
	release() // a second call does nothing
	if k := delivery.TrackedKeys(l); k != 0 {
		t.Errorf("keys tracked after release: got %d, want 0", k)
	}
	if r, ok := l.TryAcquire("r1"); !ok {
		t.Error("r1 still full after release (a double release must not free two places, nor block)")
	} else {
		r()
	}
}
