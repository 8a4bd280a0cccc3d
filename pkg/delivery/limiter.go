package delivery

import (
	"context"
	"sync"
)

// Limiter bounds the deliveries in flight per key (a receiver id), so that
// one slow receiver holds at most n workers and cannot starve the others.
// Keys cost memory only while a delivery holds or waits for them. It is
// safe for concurrent use.
type Limiter struct {
	n     int
	mu    sync.Mutex
	slots map[string]*slot
}

type slot struct {
	sem  chan struct{}
	refs int // holders and waiters
}

// NewLimiter returns a Limiter allowing n deliveries per key at a time (at
// least 1).
func NewLimiter(n int) *Limiter {
	return &Limiter{n: max(n, 1), slots: make(map[string]*slot)}
}

// Acquire waits for a place for key, or for ctx to end (then it returns
// ctx's error). The caller must call release once done; calling it again
// does nothing.
func (l *Limiter) Acquire(ctx context.Context, key string) (release func(), err error) {
	s := l.ref(key)
	select {
	case s.sem <- struct{}{}:
		return l.releaser(key, s), nil
	case <-ctx.Done():
		l.unref(key, s)
		return nil, ctx.Err()
	}
}

// TryAcquire takes a place for key if one is free, without waiting; ok
// reports whether it did. On ok the caller must call release once done.
func (l *Limiter) TryAcquire(key string) (release func(), ok bool) {
	s := l.ref(key)
	select {
	case s.sem <- struct{}{}:
		return l.releaser(key, s), true
	default:
		l.unref(key, s)
		return nil, false
	}
}

func (l *Limiter) ref(key string) *slot {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.slots[key]
	if s == nil {
		s = &slot{sem: make(chan struct{}, l.n)}
		l.slots[key] = s
	}
	s.refs++
	return s
}

func (l *Limiter) unref(key string, s *slot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.refs--; s.refs == 0 {
		delete(l.slots, key)
	}
}

func (l *Limiter) releaser(key string, s *slot) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			<-s.sem
			l.unref(key, s)
		})
	}
}

// keys reports how many keys the limiter tracks (for tests).
func (l *Limiter) keys() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.slots)
}
