package client

import (
	"encoding/json"
	"time"

	"github.com/sessiond/sessiond/pkg/wire"
)

// Wire types. A null string of the wire format is "" here and a null time is
// the zero time.Time; requests leave out empty fields, which sessiond reads
// as null.

// Identity is who a verified token belongs to.
type Identity struct {
	SessionID string
	UserID    string
	TenantID  string
	PartnerID string // "" when the session has no partner
}

// The API's response types are pkg/wire's, the one definition of the
// format the server writes: these are aliases.
type (
	// SSOApp is an application accessed in a session.
	SSOApp = wire.SSOApp
	// Session is a session in detail (the wire's SessionResponse).
	Session = wire.Session
	// SessionListItem is a session as lists show it.
	SessionListItem = wire.SessionListItem
	// Pagination describes one page of a list.
	Pagination = wire.Pagination
	// Meta is the metadata of every answer.
	Meta = wire.Meta
	// RevokeResult says which sessions a revocation ended.
	RevokeResult = wire.RevokeResult
	// Stats are a tenant's session figures.
	Stats = wire.Stats
	// AuditEntry is one revocation operation in a tenant's audit.
	AuditEntry = wire.AuditEntry
	// Policy is a tenant's session policy.
	Policy = wire.Policy
	// Receiver is a tenant's push receiver; DeliveryFailure a push that
	// failed past its retries; Redelivery what a redelivery did.
	Receiver        = wire.Receiver
	DeliveryFailure = wire.DeliveryFailure
	Redelivery      = wire.Redelivery
)

// AuditPage is one page of a tenant's audit.
type AuditPage struct {
	Entries    []AuditEntry
	Pagination Pagination
	Meta       Meta
}

// SessionPage is one page of sessions.
type SessionPage struct {
	Sessions   []SessionListItem
	Pagination Pagination
	Meta       Meta
}

// Page selects a page; zero fields take the server's defaults (page 1, 20
// per page). PerPage is 1..100.
type Page struct {
	Page    int
	PerPage int
}

// AdminFilter narrows GET /api/v1/admin/sessions; empty fields do not
// filter. The server narrows it further to the caller's reach.
type AdminFilter struct {
	UserID    string
	TenantID  string
	PartnerID string
}

// TenantFilter narrows a tenant's session list.
type TenantFilter struct {
	UserID string
	// IncludeInactive sends active_only=false: the list also holds the
	// revoked sessions that history keeps (Status "revoked"), or the same
	// sessions when history is off.
	IncludeInactive bool
}

// AdminRevokeAll is the body of POST /api/v1/admin/sessions/revoke-all: the
// sessions matching every given field are revoked. At least one is required.
type AdminRevokeAll struct {
	UserID    string `json:"user_id,omitempty"`
	TenantID  string `json:"tenant_id,omitempty"`
	PartnerID string `json:"partner_id,omitempty"`
}

// SessionRevokeRequest is the body of POST
// /api/v1/tenants/{t}/sessions/users/{u}/revoke: either RevokeAll, or a
// non-empty SessionIDs.
type SessionRevokeRequest struct {
	SessionIDs []string `json:"session_ids,omitempty"`
	RevokeAll  bool     `json:"revoke_all"`
	// ExceptCurrent keeps the caller's own session on RevokeAll; nil means
	// the server's default, true.
	ExceptCurrent *bool `json:"except_current,omitempty"`
}

// CreateSessionRequest is the body of POST /api/v1/internal/sessions. Give
// ExpiresAt or TTL (exactly one); both are bounded by the server's maximum
// session lifetime.
type CreateSessionRequest struct {
	ID              string // generated (UUIDv7) when empty
	UserID          string
	TenantID        string
	PartnerID       string
	UserEmail       string
	UserDisplayName string
	IPAddress       string
	UserAgent       string
	DeviceType      string // derived from UserAgent when empty
	Location        string
	ExpiresAt       time.Time
	// TTL and IdleTimeout are sent in whole seconds, rounded up.
	TTL         time.Duration
	IdleTimeout time.Duration
}

// MarshalJSON encodes r in the wire format.
func (r CreateSessionRequest) MarshalJSON() ([]byte, error) {
	type wire struct {
		ID              string     `json:"id,omitempty"`
		UserID          string     `json:"user_id"`
		TenantID        string     `json:"tenant_id"`
		PartnerID       string     `json:"partner_id,omitempty"`
		UserEmail       string     `json:"user_email,omitempty"`
		UserDisplayName string     `json:"user_display_name,omitempty"`
		IPAddress       string     `json:"ip_address,omitempty"`
		UserAgent       string     `json:"user_agent,omitempty"`
		DeviceType      string     `json:"device_type,omitempty"`
		Location        string     `json:"location,omitempty"`
		ExpiresAt       *time.Time `json:"expires_at,omitempty"`
		TTLSeconds      int64      `json:"ttl_seconds,omitempty"`
		IdleSeconds     int64      `json:"idle_timeout_seconds,omitempty"`
	}
	w := wire{
		ID: r.ID, UserID: r.UserID, TenantID: r.TenantID, PartnerID: r.PartnerID,
		UserEmail: r.UserEmail, UserDisplayName: r.UserDisplayName, IPAddress: r.IPAddress,
		UserAgent: r.UserAgent, DeviceType: r.DeviceType, Location: r.Location,
		TTLSeconds: ceilSeconds(r.TTL), IdleSeconds: ceilSeconds(r.IdleTimeout),
	}
	if !r.ExpiresAt.IsZero() {
		t := r.ExpiresAt.UTC()
		w.ExpiresAt = &t
	}
	return json.Marshal(w)
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// Activity is the body of POST /api/v1/internal/sessions/{id}/activity; all
// fields are optional. ApplicationID records an SSO application access.
type Activity struct {
	ApplicationID   string `json:"application_id,omitempty"`
	ApplicationName string `json:"application_name,omitempty"`
	IPAddress       string `json:"ip_address,omitempty"`
}

// Bool returns a pointer to b, for SessionRevokeRequest.ExceptCurrent.
func Bool(b bool) *bool { return &b }

// envelope is {data, pagination?, meta}.
type envelope[T any] = wire.Envelope[T]

// NewReceiver is the body of POST /api/v1/tenants/{t}/sessions/receivers.
type NewReceiver struct {
	URL      string   `json:"url"`
	Kind     string   `json:"kind"`
	Audience string   `json:"audience"`
	Events   []string `json:"events,omitempty"`
}
