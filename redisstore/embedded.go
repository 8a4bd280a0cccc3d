package redisstore

import (
	"fmt"

	"github.com/alicebob/miniredis/v2"
)

// Embedded is the in-memory dev store: a miniredis server on a loopback port.
// Nothing it holds survives the process. Its TTLs run on the wall clock
// (ClockTTL), so sessions expire as they would on a real server.
type Embedded struct {
	mr *miniredis.Miniredis
}

// StartEmbedded starts the dev store.
func StartEmbedded() (*Embedded, error) {
	mr := miniredis.NewMiniRedis()
	mr.ClockTTL(true)
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("redisstore: start embedded store: %w", err)
	}
	return &Embedded{mr: mr}, nil
}

// Addr is the host:port the dev store listens on.
func (e *Embedded) Addr() string { return e.mr.Addr() }

// Close stops the dev store.
func (e *Embedded) Close() { e.mr.Close() }
