package client

import (
	"encoding/json"
	"time"
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

// SSOApp is an application accessed in a session.
type SSOApp struct {
	ApplicationID   string    `json:"application_id"`
	ApplicationName string    `json:"application_name"`
	AccessedAt      time.Time `json:"accessed_at"`
}

// Session is a session in detail (the wire's SessionResponse).
type Session struct {
	ID              string    `json:"id"`
	UserID          string    `json:"user_id"`
	UserEmail       string    `json:"user_email"`
	UserDisplayName string    `json:"user_display_name"`
	IPAddress       string    `json:"ip_address"`
	UserAgent       string    `json:"user_agent"`
	DeviceType      string    `json:"device_type"`
	Location        string    `json:"location"`
	IsCurrent       bool      `json:"is_current"`
	CreatedAt       time.Time `json:"created_at"`
	LastActivityAt  time.Time `json:"last_activity_at"`
	ExpiresAt       time.Time `json:"expires_at"`
	SSOApps         []SSOApp  `json:"sso_apps"`
}

// SessionListItem is a session as lists show it.
type SessionListItem struct {
	ID             string    `json:"id"`
	UserID         string    `json:"user_id"`
	UserEmail      string    `json:"user_email"`
	IPAddress      string    `json:"ip_address"`
	UserAgent      string    `json:"user_agent"`
	DeviceType     string    `json:"device_type"`
	IsCurrent      bool      `json:"is_current"`
	CreatedAt      time.Time `json:"created_at"`
	LastActivityAt time.Time `json:"last_activity_at"`
	ExpiresAt      time.Time `json:"expires_at"`
	AppCount       int       `json:"app_count"`
}

// Pagination describes one page of a list.
type Pagination struct {
	Page       int   `json:"page"`
	PerPage    int   `json:"per_page"`
	TotalItems int64 `json:"total_items"`
	TotalPages int64 `json:"total_pages"`
}

// Meta is the metadata of every answer.
type Meta struct {
	RequestID string    `json:"request_id"`
	Timestamp time.Time `json:"timestamp"`
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
	// IncludeInactive sends active_only=false. Revoked and expired sessions
	// are gone from sessiond, so it lists the same sessions today.
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

// RevokeResult says which sessions a revocation ended.
type RevokeResult struct {
	RevokedCount int      `json:"revoked_count"`
	SessionIDs   []string `json:"session_ids"`
}

// Stats are a tenant's session figures.
type Stats struct {
	TenantID               string           `json:"tenant_id"`
	ActiveSessions         int64            `json:"active_sessions"`
	ActiveUsers            int64            `json:"active_users"`
	SessionsByDeviceType   map[string]int64 `json:"sessions_by_device_type"`
	SessionsCreatedLast24h int64            `json:"sessions_created_last_24h"`
	SessionsRevokedLast24h int64            `json:"sessions_revoked_last_24h"`
	GeneratedAt            time.Time        `json:"generated_at"`
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
type envelope[T any] struct {
	Data       T           `json:"data"`
	Pagination *Pagination `json:"pagination"`
	Meta       Meta        `json:"meta"`
}
