package session

import (
	"context"
	"errors"
	"time"
)

// EventRevoked is the type of the event every revocation appends.
const EventRevoked = "session.revoked"

// ErrEventsTrimmed is returned when events after the asked id may have been
// dropped by retention: a follower resuming there cannot be told everything
// it missed.
var ErrEventsTrimmed = errors.New("events trimmed by retention")

// Event is one entry of the revocation log. ID orders events and resumes a
// follower (it is the Redis stream id).
type Event struct {
	ID        string
	Type      string
	SessionID string
	UserID    string
	TenantID  string
	PartnerID string
	RevokedAt time.Time
	Reason    string
	Actor     string
}

// EventLog is the replayable log of revocations.
type EventLog interface {
	// EventsAfter returns at most n events that follow afterID, oldest first,
	// waiting up to wait for the first one when there is none yet (wait 0
	// does not block). afterID "" means the start of the retained log. It
	// returns ErrEventsTrimmed when events after afterID were dropped.
	EventsAfter(ctx context.Context, afterID string, n int, wait time.Duration) ([]Event, error)
	// LastEventID returns the id of the newest event, "" when there is none.
	LastEventID(ctx context.Context) (string, error)
}
