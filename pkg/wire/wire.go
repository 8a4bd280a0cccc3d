// Package wire is the JSON of sessiond's API, defined once: the server
// encodes its answers with these types, pkg/client decodes them into the
// same types (its Session, SessionListItem, … are aliases), and sessionctl
// prints them with -o json. Fields are plain Go values; the encoding adds
// what the wire format asks: times in RFC 3339 UTC with milliseconds, a
// missing string or time as null, an empty list as [] and an empty map as {}.
// Decoding needs nothing special: null leaves "" and the zero time.
package wire

import (
	"encoding/json"
	"time"
)

// TimeFormat is the API's time format: RFC 3339, UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Time is a time encoded in TimeFormat; the zero time is null.
type Time time.Time

// MarshalJSON encodes t in TimeFormat, or null.
func (t Time) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(TimeFormat)+2)
	b = append(b, '"')
	b = tt.UTC().AppendFormat(b, TimeFormat)
	return append(b, '"'), nil
}

// Null is a string encoded as null when empty.
type Null string

// MarshalJSON encodes s, or null when it is empty.
func (s Null) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(s))
}

// SSOApp is an application accessed in a session.
type SSOApp struct {
	ApplicationID   string    `json:"application_id"`
	ApplicationName string    `json:"application_name"`
	AccessedAt      time.Time `json:"accessed_at"`
}

// MarshalJSON encodes a in the wire format.
func (a SSOApp) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ApplicationID   string `json:"application_id"`
		ApplicationName string `json:"application_name"`
		AccessedAt      Time   `json:"accessed_at"`
	}{a.ApplicationID, a.ApplicationName, Time(a.AccessedAt)})
}

// Session is a session in detail: the API's SessionResponse.
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
	Ending
	// EvictedSessionIDs (an extension) is set on a create's answer: the
	// user's sessions the tenant's limit evicted to make room.
	EvictedSessionIDs []string `json:"evicted_session_ids,omitempty"`
}

// Ending is the history extension of a session, beyond the reference: set
// on the items of an active_only=false list (status active or revoked) and
// on an ended session; absent (omitted) everywhere else.
type Ending struct {
	Status       string     `json:"status,omitempty"`
	EndedAt      *time.Time `json:"ended_at,omitempty"`
	RevokedBy    string     `json:"revoked_by,omitempty"`
	RevokeReason string     `json:"revoke_reason,omitempty"`
}

// wireEnding is Ending in the wire format (UTC times with milliseconds).
type wireEnding struct {
	Status       string `json:"status,omitempty"`
	EndedAt      *Time  `json:"ended_at,omitempty"`
	RevokedBy    string `json:"revoked_by,omitempty"`
	RevokeReason string `json:"revoke_reason,omitempty"`
}

func (e Ending) wire() wireEnding {
	w := wireEnding{Status: e.Status, RevokedBy: e.RevokedBy, RevokeReason: e.RevokeReason}
	if e.EndedAt != nil {
		t := Time(*e.EndedAt)
		w.EndedAt = &t
	}
	return w
}

// MarshalJSON encodes s in the wire format.
func (s Session) MarshalJSON() ([]byte, error) {
	apps := s.SSOApps
	if apps == nil {
		apps = []SSOApp{}
	}
	return json.Marshal(struct {
		ID              string   `json:"id"`
		UserID          string   `json:"user_id"`
		UserEmail       Null     `json:"user_email"`
		UserDisplayName Null     `json:"user_display_name"`
		IPAddress       Null     `json:"ip_address"`
		UserAgent       Null     `json:"user_agent"`
		DeviceType      Null     `json:"device_type"`
		Location        Null     `json:"location"`
		IsCurrent       bool     `json:"is_current"`
		CreatedAt       Time     `json:"created_at"`
		LastActivityAt  Time     `json:"last_activity_at"`
		ExpiresAt       Time     `json:"expires_at"`
		SSOApps         []SSOApp `json:"sso_apps"`
		wireEnding
		EvictedSessionIDs []string `json:"evicted_session_ids,omitempty"`
	}{
		s.ID, s.UserID, Null(s.UserEmail), Null(s.UserDisplayName), Null(s.IPAddress), Null(s.UserAgent),
		Null(s.DeviceType), Null(s.Location), s.IsCurrent, Time(s.CreatedAt), Time(s.LastActivityAt),
		Time(s.ExpiresAt), apps, s.Ending.wire(), s.EvictedSessionIDs,
	})
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
	// TenantID (an extension) is set on the items of the admin lists,
	// which cross tenants.
	TenantID string `json:"tenant_id,omitempty"`
	Ending
}

// MarshalJSON encodes s in the wire format.
func (s SessionListItem) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID             string `json:"id"`
		UserID         string `json:"user_id"`
		UserEmail      Null   `json:"user_email"`
		IPAddress      Null   `json:"ip_address"`
		UserAgent      Null   `json:"user_agent"`
		DeviceType     Null   `json:"device_type"`
		IsCurrent      bool   `json:"is_current"`
		CreatedAt      Time   `json:"created_at"`
		LastActivityAt Time   `json:"last_activity_at"`
		ExpiresAt      Time   `json:"expires_at"`
		AppCount       int    `json:"app_count"`
		TenantID       string `json:"tenant_id,omitempty"`
		wireEnding
	}{
		s.ID, s.UserID, Null(s.UserEmail), Null(s.IPAddress), Null(s.UserAgent), Null(s.DeviceType),
		s.IsCurrent, Time(s.CreatedAt), Time(s.LastActivityAt), Time(s.ExpiresAt), s.AppCount, s.TenantID, s.Ending.wire(),
	})
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

// MarshalJSON encodes m in the wire format.
func (m Meta) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		RequestID string `json:"request_id"`
		Timestamp Time   `json:"timestamp"`
	}{m.RequestID, Time(m.Timestamp)})
}

// Envelope is every successful answer: {data, pagination (lists), meta}.
type Envelope[T any] struct {
	Data       T           `json:"data"`
	Pagination *Pagination `json:"pagination,omitempty"`
	Meta       Meta        `json:"meta"`
}

// RevokeResult says which sessions a revocation ended.
type RevokeResult struct {
	RevokedCount int      `json:"revoked_count"`
	SessionIDs   []string `json:"session_ids"`
}

// MarshalJSON encodes r in the wire format (no ids is []).
func (r RevokeResult) MarshalJSON() ([]byte, error) {
	ids := r.SessionIDs
	if ids == nil {
		ids = []string{}
	}
	type plain RevokeResult
	return json.Marshal(plain{RevokedCount: r.RevokedCount, SessionIDs: ids})
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

// MarshalJSON encodes s in the wire format.
func (s Stats) MarshalJSON() ([]byte, error) {
	byDevice := s.SessionsByDeviceType
	if byDevice == nil {
		byDevice = map[string]int64{}
	}
	return json.Marshal(struct {
		TenantID               string           `json:"tenant_id"`
		ActiveSessions         int64            `json:"active_sessions"`
		ActiveUsers            int64            `json:"active_users"`
		SessionsByDeviceType   map[string]int64 `json:"sessions_by_device_type"`
		SessionsCreatedLast24h int64            `json:"sessions_created_last_24h"`
		SessionsRevokedLast24h int64            `json:"sessions_revoked_last_24h"`
		GeneratedAt            Time             `json:"generated_at"`
	}{
		s.TenantID, s.ActiveSessions, s.ActiveUsers, byDevice, s.SessionsCreatedLast24h,
		s.SessionsRevokedLast24h, Time(s.GeneratedAt),
	})
}

// Event is the data of one revocation event of the SSE stream.
type Event struct {
	Type      string    `json:"type"`
	SessionID string    `json:"session_id"`
	UserID    string    `json:"user_id"`
	TenantID  string    `json:"tenant_id"`
	PartnerID string    `json:"partner_id"`
	RevokedAt time.Time `json:"revoked_at"`
	Reason    string    `json:"reason"`
	Actor     string    `json:"actor"`
}

// MarshalJSON encodes e in the wire format (no partner is null).
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type      string `json:"type"`
		SessionID string `json:"session_id"`
		UserID    string `json:"user_id"`
		TenantID  string `json:"tenant_id"`
		PartnerID Null   `json:"partner_id"`
		RevokedAt Time   `json:"revoked_at"`
		Reason    string `json:"reason"`
		Actor     string `json:"actor"`
	}{e.Type, e.SessionID, e.UserID, e.TenantID, Null(e.PartnerID), Time(e.RevokedAt), e.Reason, e.Actor})
}

// AuditEntry is one revocation operation in a tenant's audit (an extension).
type AuditEntry struct {
	ID           string    `json:"id"`
	At           time.Time `json:"at"`
	Actor        string    `json:"actor"`
	ActorRole    string    `json:"actor_role"`
	Reason       string    `json:"reason"`
	Target       string    `json:"target"`
	RevokedCount int64     `json:"revoked_count"`
	SessionIDs   []string  `json:"session_ids"`
}

// MarshalJSON encodes e in the wire format (no ids is []).
func (e AuditEntry) MarshalJSON() ([]byte, error) {
	ids := e.SessionIDs
	if ids == nil {
		ids = []string{}
	}
	return json.Marshal(struct {
		ID           string   `json:"id"`
		At           Time     `json:"at"`
		Actor        string   `json:"actor"`
		ActorRole    string   `json:"actor_role"`
		Reason       string   `json:"reason"`
		Target       string   `json:"target"`
		RevokedCount int64    `json:"revoked_count"`
		SessionIDs   []string `json:"session_ids"`
	}{e.ID, Time(e.At), e.Actor, e.ActorRole, e.Reason, e.Target, e.RevokedCount, ids})
}

// Policy is a tenant's effective session policy (an extension).
type Policy struct {
	MaxSessionsPerUser int    `json:"max_sessions_per_user"`
	OnLimit            string `json:"on_limit"`
	IdleTimeoutSeconds int64  `json:"idle_timeout_seconds"`
	MaxLifetimeSeconds int64  `json:"max_lifetime_seconds"`
}

// Receiver is a tenant's push receiver (an extension).
type Receiver struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Kind      string    `json:"kind"`
	Audience  string    `json:"audience"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"created_at"`
}

// MarshalJSON encodes r in the wire format (no filter is []).
func (r Receiver) MarshalJSON() ([]byte, error) {
	events := r.Events
	if events == nil {
		events = []string{}
	}
	return json.Marshal(struct {
		ID        string   `json:"id"`
		URL       string   `json:"url"`
		Kind      string   `json:"kind"`
		Audience  string   `json:"audience"`
		Events    []string `json:"events"`
		CreatedAt Time     `json:"created_at"`
	}{r.ID, r.URL, r.Kind, r.Audience, events, Time(r.CreatedAt)})
}

// DeliveryFailure is a delivery to a receiver that failed past its
// retries (an extension).
type DeliveryFailure struct {
	Event     Event     `json:"event"`
	EventID   string    `json:"event_id"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
	At        time.Time `json:"at"`
}

// MarshalJSON encodes f in the wire format.
func (f DeliveryFailure) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Event     Event  `json:"event"`
		EventID   string `json:"event_id"`
		Attempts  int    `json:"attempts"`
		LastError string `json:"last_error"`
		At        Time   `json:"at"`
	}{f.Event, f.EventID, f.Attempts, f.LastError, Time(f.At)})
}

// Redelivery says what a redelivery of a receiver's failures did.
type Redelivery struct {
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
}
