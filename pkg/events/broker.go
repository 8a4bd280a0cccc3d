// Package events fans the revocation log out to live followers. One Broker
// per process tails the log (one blocking read at a time, whatever the number
// of followers) and wakes its followers; each follower then reads the log
// from its own position, so a slow follower loses nothing within retention
// and never holds the others back.
package events

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sessiond/sessiond/pkg/session"
)

// Broker wakes followers when new events are in the log.
type Broker struct {
	log  session.EventLog
	wait time.Duration

	mu   sync.Mutex
	subs map[chan struct{}]struct{}

	watch Watcher
}

// Watcher hears the tail itself: each batch of events it reads, whether it
// is caught up (its last read succeeded), and when it could not vouch for
// what it missed (the log was trimmed past it, or lost). The verify cache
// is one.
type Watcher interface {
	Events([]session.Event)
	SetLive(bool)
	Reset()
}

// Watch makes w hear the tail; call it before Run.
func (b *Broker) Watch(w Watcher) { b.watch = w }

// NewBroker returns a Broker tailing log; wait bounds each blocking read.
func NewBroker(log session.EventLog, wait time.Duration) *Broker {
	if wait <= 0 {
		wait = 5 * time.Second
	}
	return &Broker{log: log, wait: wait, subs: map[chan struct{}]struct{}{}}
}

// Subscribe returns a channel that receives a value whenever new events may
// be in the log (coalesced: one pending wake-up at most), and a func that
// ends the subscription.
func (b *Broker) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

// Followers is the number of live subscriptions.
func (b *Broker) Followers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

func (b *Broker) wake() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Run tails the log until ctx ends. Errors (Redis down) are passed to onErr
// and retried with a capped backoff; followers are woken after each error too,
// so that they notice the failure themselves.
func (b *Broker) Run(ctx context.Context, onErr func(error)) {
	if b.watch != nil {
		defer b.watch.SetLive(false)
	}
	last := ""
	known := false
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		var err error
		if !known {
			if last, err = b.log.LastEventID(ctx); err == nil {
				known = true
			}
		}
		var evs []session.Event
		if err == nil {
			evs, err = b.log.EventsAfter(ctx, last, 1000, b.wait)
		}
		switch {
		case err == nil:
			backoff = 100 * time.Millisecond
			if len(evs) > 0 {
				last = evs[len(evs)-1].ID
				if b.watch != nil {
					b.watch.Events(evs)
				}
				b.wake()
			}
			if b.watch != nil {
				b.watch.SetLive(true)
			}
			continue
		case errors.Is(err, session.ErrEventsTrimmed):
			known = false
			if b.watch != nil {
				b.watch.Reset()
			}
		case ctx.Err() != nil:
			return
		}
		if b.watch != nil {
			b.watch.SetLive(false)
		}
		if onErr != nil {
			onErr(err)
		}
		b.wake()
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}
