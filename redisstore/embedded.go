package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// Embedded is the in-memory dev store: a miniredis server on a loopback port.
// Nothing it holds survives the process. miniredis only expires keys when
// told that time passed, so a ticker keeps its clock on the wall clock.
type Embedded struct {
	mr     *miniredis.Miniredis
	cancel context.CancelFunc
	done   chan struct{}
}

// StartEmbedded starts the dev store.
func StartEmbedded() (*Embedded, error) {
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("redisstore: start embedded store: %w", err)
	}
	now := time.Now()
	mr.SetTime(now)
	ctx, cancel := context.WithCancel(context.Background())
	e := &Embedded{mr: mr, cancel: cancel, done: make(chan struct{})}
	go e.tick(ctx, now)
	return e, nil
}

func (e *Embedded) tick(ctx context.Context, last time.Time) {
	defer close(e.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			e.mr.SetTime(now)
			e.mr.FastForward(now.Sub(last))
			last = now
		}
	}
}

// Addr is the host:port the dev store listens on.
func (e *Embedded) Addr() string { return e.mr.Addr() }

// Close stops the dev store.
func (e *Embedded) Close() {
	e.cancel()
	<-e.done
	e.mr.Close()
}
