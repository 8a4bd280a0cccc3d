package session

import (
	"errors"
	"time"
)

// Policy is a tenant's session policy. Zero fields are unset: the service's
// default applies (Effective).
type Policy struct {
	// MaxSessionsPerUser caps a user's live sessions in the tenant; 0 is
	// unlimited.
	MaxSessionsPerUser int
	// OnLimit is what a create beyond the cap does: OnLimitEvictOldest or
	// OnLimitRefuse.
	OnLimit string
	// IdleTimeout is the idle timeout of a create that gives none, and the
	// most one may give.
	IdleTimeout time.Duration
	// MaxLifetime is the lifetime of a create that gives no expiry, and
	// the most one may ask for.
	MaxLifetime time.Duration
}

// What a create beyond the cap does.
const (
	OnLimitEvictOldest = "evict_oldest"
	OnLimitRefuse      = "refuse"
)

// MaxSessionsPerUserLimit is the highest cap a policy may set.
const MaxSessionsPerUserLimit = 10000

// ErrSessionLimit is a create refused because the user holds as many
// sessions as the tenant's policy allows (OnLimitRefuse).
var ErrSessionLimit = errors.New("session limit reached")

// ReasonSessionLimit is the revocation reason of a session evicted by a
// create beyond the cap.
const ReasonSessionLimit = "session_limit"

// Effective fills p's unset fields from def.
func (p Policy) Effective(def Policy) Policy {
	if p.MaxSessionsPerUser == 0 {
		p.MaxSessionsPerUser = def.MaxSessionsPerUser
	}
	if p.OnLimit == "" {
		p.OnLimit = def.OnLimit
	}
	if p.OnLimit == "" {
		p.OnLimit = OnLimitEvictOldest
	}
	if p.IdleTimeout == 0 {
		p.IdleTimeout = def.IdleTimeout
	}
	if p.MaxLifetime == 0 {
		p.MaxLifetime = def.MaxLifetime
	}
	return p
}

// Bound applies p to a create at now: an absolute expiry that is zero (none
// given) becomes now + MaxLifetime, and one beyond it is brought back to it;
// an idle timeout that is zero becomes IdleTimeout, and one above it is
// brought down to it. It reports ok false when no expiry was given and the
// policy has no lifetime to give.
func (p Policy) Bound(now, absolute time.Time, idle time.Duration) (time.Time, time.Duration, bool) {
	if p.MaxLifetime > 0 {
		limit := now.Add(p.MaxLifetime)
		if absolute.IsZero() || absolute.After(limit) {
			absolute = limit
		}
	}
	if p.IdleTimeout > 0 && (idle == 0 || idle > p.IdleTimeout) {
		idle = p.IdleTimeout
	}
	return absolute, idle, !absolute.IsZero()
}
