package session

import (
	"time"

	"github.com/google/uuid"
)

// NewID returns a new session id: a UUIDv7, so ids sort by creation time.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// Start completes a session about to be created at now, by the rules of a
// create: it gets a new id (NewID) unless it has one, the device type that
// classify derives from its user agent unless it has one (DeviceUnknown
// when classify is nil), and its first expiry: the absolute expiry, or
// sooner, now plus the idle timeout when it has one.
func (s *Session) Start(now time.Time, classify func(userAgent string) string) {
	if s.ID == "" {
		s.ID = NewID()
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	if s.DeviceType == "" {
		s.DeviceType = DeviceUnknown
		if classify != nil {
			s.DeviceType = classify(s.UserAgent)
		}
	}
	s.ExpiresAt = s.AbsoluteExpiresAt
	if s.IdleTimeout > 0 {
		if idle := now.Add(s.IdleTimeout); idle.Before(s.ExpiresAt) {
			s.ExpiresAt = idle
		}
	}
}
