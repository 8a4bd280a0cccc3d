// Package session holds sessiond's domain: sessions, the filters and pages used
// to find them, tenant statistics, the errors the store returns, and the Store
// interface the rest of the program depends on. It knows nothing of HTTP, JSON
// or Redis.
package session

import (
	"context"
	"errors"
	"time"
)

// Device types a session can have. Stats report a count for each.
const (
	DeviceDesktop = "desktop"
	DeviceMobile  = "mobile"
	DeviceTablet  = "tablet"
	DeviceBot     = "bot"
	DeviceUnknown = "unknown"
)

// DeviceTypes lists every device type, in the order stats report them.
var DeviceTypes = []string{DeviceDesktop, DeviceMobile, DeviceTablet, DeviceBot, DeviceUnknown}

// MaxApps bounds the SSO applications remembered per session; recording a new
// application beyond it forgets the least recently accessed one.
const MaxApps = 100

// Sentinel errors returned by Store implementations. Callers compare with errors.Is.
var (
	// ErrNotFound is returned when a session does not exist (any more).
	ErrNotFound = errors.New("session not found")
	// ErrConflict is returned by Create when the session id is already taken.
	ErrConflict = errors.New("session already exists")
	// ErrPartnerMismatch is returned by Create when the tenant is already
	// recorded under another partner.
	ErrPartnerMismatch = errors.New("tenant belongs to another partner")
	// ErrUnavailable is returned when the backing store cannot be reached.
	ErrUnavailable = errors.New("session store unavailable")
	// ErrStoreFull is returned by writes that add data (create, activity,
	// policy) when the store refuses them for lack of memory (Redis at
	// maxmemory with noeviction). Revocations never return it: they free
	// memory and run under that condition too.
	ErrStoreFull = errors.New("session store is full")
)

// Session is one login session of a user in a tenant. Empty optional strings
// mean "unknown"; a zero LastActivityAt means no activity was recorded.
type Session struct {
	ID              string
	UserID          string
	TenantID        string
	PartnerID       string
	UserEmail       string
	UserDisplayName string
	IPAddress       string
	UserAgent       string
	DeviceType      string
	Location        string
	CreatedAt       time.Time
	LastActivityAt  time.Time
	ExpiresAt       time.Time
	// IdleTimeout, when positive, makes each recorded activity move ExpiresAt to
	// min(AbsoluteExpiresAt, activity time + IdleTimeout).
	IdleTimeout time.Duration
	// AbsoluteExpiresAt is the hard end of the session; equal to ExpiresAt when
	// there is no idle timeout.
	AbsoluteExpiresAt time.Time
	Apps              []SSOApp
	// Status is empty for a session read from an active view, StatusActive
	// for an active one in a listing that includes ended sessions, and
	// StatusRevoked for an ended one (history), which also has End.
	Status string
	End    Ending
	// Evicted is set by Create: the user's sessions it revoked to stay
	// within the tenant's limit (Policy, OnLimitEvictOldest).
	Evicted []Revoked
}

// The statuses of a session in a listing that includes ended sessions.
const (
	StatusActive  = "active"
	StatusRevoked = "revoked"
	StatusExpired = "expired"
)

// Ending is how an ended session ended: when, by whom (the actor's sub),
// and why (the revocation reason).
type Ending struct {
	At     time.Time
	By     string
	Reason string
}

// SSOApp is an application the user reached through the session.
type SSOApp struct {
	ID         string
	Name       string
	AccessedAt time.Time
}

// Activity is what the identity provider reports when a session is used.
type Activity struct {
	At        time.Time
	AppID     string
	AppName   string
	IPAddress string
}

// Filter selects sessions. Empty fields do not filter. The result is the
// intersection of the non-empty fields.
type Filter struct {
	TenantID  string
	PartnerID string
	UserID    string
	// WithEnded also lists the tenant's ended sessions that history keeps
	// (only with TenantID; the cross-tenant views are active-only).
	WithEnded bool
}

// Empty reports whether the filter selects nothing in particular.
func (f Filter) Empty() bool { return f.TenantID == "" && f.PartnerID == "" && f.UserID == "" }

// Page asks for one page of a listing; Number starts at 1.
type Page struct {
	Number  int
	PerPage int
}

// Offset is the rank of the first item of the page.
func (p Page) Offset() int64 { return int64(p.Number-1) * int64(p.PerPage) }

// PageResult is one page of active sessions and the exact number of active
// sessions that match the filter.
type PageResult struct {
	Items []Session
	Total int64
}

// TotalPages is ceil(Total / perPage).
func TotalPages(total int64, perPage int) int64 {
	if perPage <= 0 {
		return 0
	}
	return (total + int64(perPage) - 1) / int64(perPage)
}

// Stats are a tenant's session figures, each exact at GeneratedAt.
type Stats struct {
	TenantID       string
	ActiveSessions int64
	ActiveUsers    int64
	ByDeviceType   map[string]int64
	CreatedLast24h int64
	RevokedLast24h int64
	GeneratedAt    time.Time
}

// Revoked describes one session a revocation removed.
type Revoked struct {
	ID        string
	UserID    string
	TenantID  string
	PartnerID string
}

// Revocation says which sessions to revoke and why.
type Revocation struct {
	// Filter selects the sessions; at least one field must be set.
	Filter Filter
	// IDs, when non-empty, limits the revocation to these session ids (which
	// must also match Filter; others are ignored).
	IDs []string
	// ExceptID is kept even when it matches.
	ExceptID string
	// Reason and Actor (the caller's sub) describe the revocation for
	// events, metrics, ended sessions and the audit; ActorRole and Target
	// (AuditTarget*, or the filter of an admin revoke-all) are for the audit.
	Reason    string
	Actor     string
	ActorRole string
	Target    string
}

// The targets of an audited revocation.
const (
	AuditTargetSession = "session"
	AuditTargetUser    = "user"
	AuditTargetTenant  = "tenant"
)

// AuditEntry is one revocation operation in one tenant.
type AuditEntry struct {
	ID           string
	At           time.Time
	Actor        string
	ActorRole    string
	Reason       string
	Target       string
	RevokedCount int64
	// SessionIDs are the first few sessions it revoked (AuditSessionIDs).
	SessionIDs []string
}

// AuditSessionIDs is how many session ids an audit entry keeps.
const AuditSessionIDs = 10

// AuditPage is one page of a tenant's audit, newest first, and the exact
// number of entries kept.
type AuditPage struct {
	Items []AuditEntry
	Total int64
}

// Store keeps sessions. Every method takes the caller's context; a store that
// cannot be reached returns an error wrapping ErrUnavailable.
type Store interface {
	// Create stores a new session. It returns ErrConflict when the id is taken,
	// ErrPartnerMismatch when the tenant belongs to another partner and
	// ErrSessionLimit when the user is at the tenant's limit and its policy
	// refuses. When s.PartnerID is empty it is filled from the tenant's
	// recorded partner; s.Evicted lists what the limit evicted.
	Create(ctx context.Context, s *Session) error
	// Get returns a live session by id alone.
	Get(ctx context.Context, id string) (Session, error)
	// GetEnded returns an ended session that history keeps (tenantID ""
	// looks the tenant up by id); ErrNotFound when there is none.
	GetEnded(ctx context.Context, tenantID, id string) (Session, error)
	// Audit returns one page of a tenant's revocation audit.
	Audit(ctx context.Context, tenantID string, p Page) (AuditPage, error)
	// Policy returns a tenant's effective session policy; SetPolicy
	// replaces the tenant's own (zero fields take the service default).
	Policy(ctx context.Context, tenantID string) (Policy, error)
	SetPolicy(ctx context.Context, tenantID string, p Policy) error
	// GetInTenant returns a live session of a known tenant in one round trip.
	GetInTenant(ctx context.Context, tenantID, id string) (Session, error)
	// TenantPartner returns the partner recorded for a tenant, "" when none is.
	TenantPartner(ctx context.Context, tenantID string) (string, error)
	// List returns one page of the active sessions that match the filter,
	// ordered by expiry descending, then id descending.
	List(ctx context.Context, f Filter, p Page) (PageResult, error)
	// Touch records activity on a live session; ErrNotFound when it is gone.
	Touch(ctx context.Context, tenantID, id string, a Activity) error
	// Revoke removes the sessions the revocation selects and returns them.
	Revoke(ctx context.Context, r Revocation) ([]Revoked, error)
	// Stats returns a tenant's figures without scanning its sessions.
	Stats(ctx context.Context, tenantID string) (Stats, error)
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
}
