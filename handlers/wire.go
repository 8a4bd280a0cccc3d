package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/pkg/session"
	"github.com/sessiond/sessiond/pkg/wire"
)

// The response bodies are pkg/wire's types, the one definition of the
// API's JSON; these functions convert the domain to them.

func toSessionResponse(s session.Session, currentSID string) wire.Session {
	apps := make([]wire.SSOApp, len(s.Apps))
	for i, a := range s.Apps {
		apps[i] = wire.SSOApp{ApplicationID: a.ID, ApplicationName: a.Name, AccessedAt: a.AccessedAt}
	}
	return wire.Session{
		ID: s.ID, UserID: s.UserID, UserEmail: s.UserEmail, UserDisplayName: s.UserDisplayName,
		IPAddress: s.IPAddress, UserAgent: s.UserAgent, DeviceType: s.DeviceType, Location: s.Location,
		IsCurrent: currentSID != "" && s.ID == currentSID,
		CreatedAt: s.CreatedAt, LastActivityAt: s.LastActivityAt, ExpiresAt: s.ExpiresAt, SSOApps: apps,
		Ending: toEnding(s),
	}
}

// toEnding is the history extension of s: empty for a session read from an
// active view.
func toEnding(s session.Session) wire.Ending {
	e := wire.Ending{Status: s.Status, RevokedBy: s.End.By, RevokeReason: s.End.Reason}
	if !s.End.At.IsZero() {
		at := s.End.At
		e.EndedAt = &at
	}
	return e
}

func toAuditEntries(items []session.AuditEntry) []wire.AuditEntry {
	out := make([]wire.AuditEntry, len(items))
	for i, e := range items {
		out[i] = wire.AuditEntry{
			ID: e.ID, At: e.At, Actor: e.Actor, ActorRole: e.ActorRole, Reason: e.Reason,
			Target: e.Target, RevokedCount: e.RevokedCount, SessionIDs: e.SessionIDs,
		}
	}
	return out
}

func toListItems(items []session.Session, currentSID string) []wire.SessionListItem {
	return listItems(items, currentSID, false)
}

// toAdminListItems are the items of an admin list, which crosses tenants:
// each names its tenant (an extension).
func toAdminListItems(items []session.Session, currentSID string) []wire.SessionListItem {
	return listItems(items, currentSID, true)
}

func listItems(items []session.Session, currentSID string, withTenant bool) []wire.SessionListItem {
	out := make([]wire.SessionListItem, len(items))
	for i, s := range items {
		out[i] = wire.SessionListItem{
			ID: s.ID, UserID: s.UserID, UserEmail: s.UserEmail, IPAddress: s.IPAddress,
			UserAgent: s.UserAgent, DeviceType: s.DeviceType, IsCurrent: currentSID != "" && s.ID == currentSID,
			CreatedAt: s.CreatedAt, LastActivityAt: s.LastActivityAt, ExpiresAt: s.ExpiresAt, AppCount: len(s.Apps),
			Ending: toEnding(s),
		}
		if withTenant {
			out[i].TenantID = s.TenantID
		}
	}
	return out
}

func toRevokeResponse(revoked []session.Revoked) wire.RevokeResult {
	ids := make([]string, len(revoked))
	for i, r := range revoked {
		ids[i] = r.ID
	}
	return wire.RevokeResult{RevokedCount: len(ids), SessionIDs: ids}
}

func toStatsResponse(st session.Stats) wire.Stats {
	return wire.Stats{
		TenantID: st.TenantID, ActiveSessions: st.ActiveSessions, ActiveUsers: st.ActiveUsers,
		SessionsByDeviceType: st.ByDeviceType, SessionsCreatedLast24h: st.CreatedLast24h,
		SessionsRevokedLast24h: st.RevokedLast24h, GeneratedAt: st.GeneratedAt,
	}
}

func toEvent(e session.Event) wire.Event {
	return wire.Event{
		Type: e.Type, SessionID: e.SessionID, UserID: e.UserID, TenantID: e.TenantID,
		PartnerID: e.PartnerID, RevokedAt: e.RevokedAt, Reason: e.Reason, Actor: e.Actor,
	}
}

// respond writes {data, meta} with the given status.
func respond(c *gin.Context, status int, data any) {
	c.JSON(status, wire.Envelope[any]{Data: data, Meta: newMeta(c)})
}

// respondPage writes {data, pagination, meta}.
func respondPage(c *gin.Context, items []wire.SessionListItem, p session.Page, total int64) {
	c.JSON(http.StatusOK, wire.Envelope[[]wire.SessionListItem]{
		Data: items,
		Pagination: &wire.Pagination{Page: p.Number, PerPage: p.PerPage, TotalItems: total,
			TotalPages: session.TotalPages(total, p.PerPage)},
		Meta: newMeta(c),
	})
}

func newMeta(c *gin.Context) wire.Meta {
	return wire.Meta{RequestID: requestID(c), Timestamp: time.Now()}
}
