package handlers

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/pkg/session"
)

// timeFormat is RFC 3339 in UTC with milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z"

// wireTime is a time.Time encoded as timeFormat; the zero time is null.
type wireTime time.Time

func (t wireTime) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(timeFormat)+2)
	b = append(b, '"')
	b = tt.UTC().AppendFormat(b, timeFormat)
	return append(b, '"'), nil
}

// nullable is a string encoded as null when empty.
type nullable string

func (s nullable) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return jsonString(string(s)), nil
}

type meta struct {
	RequestID string   `json:"request_id"`
	Timestamp wireTime `json:"timestamp"`
}

type pagination struct {
	Page       int   `json:"page"`
	PerPage    int   `json:"per_page"`
	TotalItems int64 `json:"total_items"`
	TotalPages int64 `json:"total_pages"`
}

type envelope struct {
	Data       any         `json:"data"`
	Pagination *pagination `json:"pagination,omitempty"`
	Meta       meta        `json:"meta"`
}

type appInfo struct {
	ApplicationID   string   `json:"application_id"`
	ApplicationName string   `json:"application_name"`
	AccessedAt      wireTime `json:"accessed_at"`
}

type sessionResponse struct {
	ID              string    `json:"id"`
	UserID          string    `json:"user_id"`
	UserEmail       nullable  `json:"user_email"`
	UserDisplayName nullable  `json:"user_display_name"`
	IPAddress       nullable  `json:"ip_address"`
	UserAgent       nullable  `json:"user_agent"`
	DeviceType      nullable  `json:"device_type"`
	Location        nullable  `json:"location"`
	IsCurrent       bool      `json:"is_current"`
	CreatedAt       wireTime  `json:"created_at"`
	LastActivityAt  wireTime  `json:"last_activity_at"`
	ExpiresAt       wireTime  `json:"expires_at"`
	SSOApps         []appInfo `json:"sso_apps"`
}

type sessionListItem struct {
	ID             string   `json:"id"`
	UserID         string   `json:"user_id"`
	UserEmail      nullable `json:"user_email"`
	IPAddress      nullable `json:"ip_address"`
	UserAgent      nullable `json:"user_agent"`
	DeviceType     nullable `json:"device_type"`
	IsCurrent      bool     `json:"is_current"`
	CreatedAt      wireTime `json:"created_at"`
	LastActivityAt wireTime `json:"last_activity_at"`
	ExpiresAt      wireTime `json:"expires_at"`
	AppCount       int      `json:"app_count"`
}

type revokeResponse struct {
	RevokedCount int      `json:"revoked_count"`
	SessionIDs   []string `json:"session_ids"`
}

type statsResponse struct {
	TenantID               string           `json:"tenant_id"`
	ActiveSessions         int64            `json:"active_sessions"`
	ActiveUsers            int64            `json:"active_users"`
	SessionsByDeviceType   map[string]int64 `json:"sessions_by_device_type"`
	SessionsCreatedLast24h int64            `json:"sessions_created_last_24h"`
	SessionsRevokedLast24h int64            `json:"sessions_revoked_last_24h"`
	GeneratedAt            wireTime         `json:"generated_at"`
}

func toSessionResponse(s session.Session, currentSID string) sessionResponse {
	apps := make([]appInfo, len(s.Apps))
	for i, a := range s.Apps {
		apps[i] = appInfo{ApplicationID: a.ID, ApplicationName: a.Name, AccessedAt: wireTime(a.AccessedAt)}
	}
	return sessionResponse{
		ID: s.ID, UserID: s.UserID, UserEmail: nullable(s.UserEmail),
		UserDisplayName: nullable(s.UserDisplayName), IPAddress: nullable(s.IPAddress),
		UserAgent: nullable(s.UserAgent), DeviceType: nullable(s.DeviceType),
		Location: nullable(s.Location), IsCurrent: currentSID != "" && s.ID == currentSID,
		CreatedAt: wireTime(s.CreatedAt), LastActivityAt: wireTime(s.LastActivityAt),
		ExpiresAt: wireTime(s.ExpiresAt), SSOApps: apps,
	}
}

func toListItems(items []session.Session, currentSID string) []sessionListItem {
	out := make([]sessionListItem, len(items))
	for i, s := range items {
		out[i] = sessionListItem{
			ID: s.ID, UserID: s.UserID, UserEmail: nullable(s.UserEmail),
			IPAddress: nullable(s.IPAddress), UserAgent: nullable(s.UserAgent),
			DeviceType: nullable(s.DeviceType), IsCurrent: currentSID != "" && s.ID == currentSID,
			CreatedAt: wireTime(s.CreatedAt), LastActivityAt: wireTime(s.LastActivityAt),
			ExpiresAt: wireTime(s.ExpiresAt), AppCount: len(s.Apps),
		}
	}
	return out
}

func toRevokeResponse(revoked []session.Revoked) revokeResponse {
	ids := make([]string, len(revoked))
	for i, r := range revoked {
		ids[i] = r.ID
	}
	return revokeResponse{RevokedCount: len(ids), SessionIDs: ids}
}

func toStatsResponse(st session.Stats) statsResponse {
	return statsResponse{
		TenantID: st.TenantID, ActiveSessions: st.ActiveSessions, ActiveUsers: st.ActiveUsers,
		SessionsByDeviceType: st.ByDeviceType, SessionsCreatedLast24h: st.CreatedLast24h,
		SessionsRevokedLast24h: st.RevokedLast24h, GeneratedAt: wireTime(st.GeneratedAt),
	}
}

// respond writes {data, meta} with the given status.
func respond(c *gin.Context, status int, data any) {
	c.JSON(status, envelope{Data: data, Meta: newMeta(c)})
}

// respondPage writes {data, pagination, meta}.
func respondPage(c *gin.Context, items []sessionListItem, p session.Page, total int64) {
	c.JSON(http.StatusOK, envelope{
		Data: items,
		Pagination: &pagination{Page: p.Number, PerPage: p.PerPage, TotalItems: total,
			TotalPages: session.TotalPages(total, p.PerPage)},
		Meta: newMeta(c),
	})
}

func newMeta(c *gin.Context) meta {
	return meta{RequestID: requestID(c), Timestamp: wireTime(time.Now())}
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
