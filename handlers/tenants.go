package handlers

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/session"
	"github.com/sessiond/sessiond/pkg/wire"
)

// maxRevokeIDs bounds session_ids in one revoke request.
const maxRevokeIDs = 1000

// tenantScope checks the caller may use this tenant's endpoints with access
// and returns the tenant id. v collects path problems; the caller adds its own
// and reports them all at once.
func (a *api) tenantScope(c *gin.Context, v *ValidationError, access auth.Access) (auth.Principal, string, bool) {
	p := principal(c)
	// Callers who may use no tenant at all get 403 before any 422.
	if err := auth.Admin(p, access); err != nil {
		fail(c, err)
		return p, "", false
	}
	tenantID := pathID(c, v, "tenant_id", session.ValidTenantID)
	if tenantID == "" {
		return p, "", true
	}
	c.Set(keyTenant, tenantID)
	var partnerID string
	if p.Kind() == auth.KindPartnerAdmin {
		var err error
		if partnerID, err = a.Store.TenantPartner(c, tenantID); err != nil {
			fail(c, err)
			return p, "", false
		}
	}
	if err := auth.Tenant(p, access, tenantID, partnerID); err != nil {
		fail(c, err)
		return p, "", false
	}
	return p, tenantID, true
}

// tenantOnly is tenantScope for routes whose only input is the tenant id: a
// bad one answers 422 at once.
func (a *api) tenantOnly(c *gin.Context, access auth.Access) (auth.Principal, string, bool) {
	var v ValidationError
	p, tenantID, ok := a.tenantScope(c, &v, access)
	if ok && len(v) > 0 {
		fail(c, v)
		return p, "", false
	}
	return p, tenantID, ok
}

// tenantList: GET /api/v1/tenants/{tenant_id}/sessions (the user filter
// from ?user_id=).
func (a *api) tenantList(c *gin.Context) { a.tenantListBy(c, queryID) }

// tenantUserList: GET /api/v1/tenants/{tenant_id}/sessions/users/{user_id}
func (a *api) tenantUserList(c *gin.Context) { a.tenantListBy(c, pathID) }

// tenantListBy answers one page of the tenant's sessions, of the user that
// userOf reads ("" = every user).
func (a *api) tenantListBy(c *gin.Context, userOf func(*gin.Context, *ValidationError, string, func(string) bool) string) {
	var v ValidationError
	p, tenantID, ok := a.tenantScope(c, &v, auth.Read)
	if !ok {
		return
	}
	f := session.Filter{TenantID: tenantID, UserID: userOf(c, &v, "user_id", session.ValidUserID)}
	a.listPage(c, &v, p, f)
}

// listPage reads active_only and the page, then answers one page of f.
// active_only=false adds the ended sessions that history keeps (with
// history off there are none, and it lists the same sessions).
func (a *api) listPage(c *gin.Context, v *ValidationError, p auth.Principal, f session.Filter) {
	f.WithEnded = !queryBool(c, v, "active_only", true)
	pg := readPage(c, v)
	if err := v.err(); err != nil {
		fail(c, err)
		return
	}
	res, err := a.Store.List(c, f, pg)
	if err != nil {
		fail(c, err)
		return
	}
	respondPage(c, toListItems(res.Items, p.SessionID), pg, res.Total)
}

// tenantRevokeAll: POST /api/v1/tenants/{tenant_id}/sessions/revoke-all
func (a *api) tenantRevokeAll(c *gin.Context) {
	p, tenantID, ok := a.tenantOnly(c, auth.Write)
	if ok {
		a.revokeAndRespond(c, session.Revocation{
			Filter: session.Filter{TenantID: tenantID}, Reason: "tenant_revoke_all", Actor: p.Subject,
			ActorRole: p.Role, Target: session.AuditTargetTenant,
		})
	}
}

// tenantAudit: GET /api/v1/tenants/{tenant_id}/sessions/audit (an
// extension): the tenant's revocations, newest first.
func (a *api) tenantAudit(c *gin.Context) {
	var v ValidationError
	_, tenantID, ok := a.tenantScope(c, &v, auth.Read)
	if !ok {
		return
	}
	pg := readPage(c, &v)
	if err := v.err(); err != nil {
		fail(c, err)
		return
	}
	res, err := a.Store.Audit(c, tenantID, pg)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, wire.Envelope[[]wire.AuditEntry]{
		Data: toAuditEntries(res.Items),
		Pagination: &wire.Pagination{Page: pg.Number, PerPage: pg.PerPage, TotalItems: res.Total,
			TotalPages: session.TotalPages(res.Total, pg.PerPage)},
		Meta: newMeta(c),
	})
}

// tenantStats: GET /api/v1/tenants/{tenant_id}/sessions/stats
func (a *api) tenantStats(c *gin.Context) {
	_, tenantID, ok := a.tenantOnly(c, auth.Read)
	if !ok {
		return
	}
	st, err := a.Store.Stats(c, tenantID)
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, http.StatusOK, toStatsResponse(st))
}

// tenantUserRevoke: POST /api/v1/tenants/{tenant_id}/sessions/users/{user_id}/revoke
func (a *api) tenantUserRevoke(c *gin.Context) {
	var v ValidationError
	p, tenantID, ok := a.tenantScope(c, &v, auth.Write)
	if !ok {
		return
	}
	userID := pathID(c, &v, "user_id", session.ValidUserID)
	b, err := readBody(c, &v, true)
	if err != nil {
		fail(c, err)
		return
	}
	r := session.Revocation{
		Filter: session.Filter{TenantID: tenantID, UserID: userID},
		Reason: "user_revoke_admin", Actor: p.Subject, ActorRole: p.Role, Target: session.AuditTargetUser,
	}
	ids, given := b.ids("session_ids", maxRevokeIDs, session.ValidID)
	revokeAll := b.boolean("revoke_all", false)
	exceptCurrent := b.boolean("except_current", true)
	switch {
	case revokeAll:
		if exceptCurrent {
			r.ExceptID = p.SessionID
		}
	case len(v) == 0 && (!given || len(ids) == 0):
		v.add("value_error", "Value error, session_ids must be a non-empty list unless revoke_all is true", "body", "session_ids")
	default:
		r.IDs = ids
	}
	if err := v.err(); err != nil {
		fail(c, err)
		return
	}
	a.revokeAndRespond(c, r)
}

// tenantGet: GET /api/v1/tenants/{tenant_id}/sessions/{session_id}
func (a *api) tenantGet(c *gin.Context) {
	p, tenantID, id, ok := a.tenantSession(c, auth.Read)
	if !ok {
		return
	}
	s, err := a.Store.GetInTenant(c, tenantID, id)
	if errors.Is(err, session.ErrNotFound) {
		s, err = a.Store.GetEnded(c, tenantID, id)
	}
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, http.StatusOK, toSessionResponse(s, p.SessionID))
}

// tenantRevoke: DELETE /api/v1/tenants/{tenant_id}/sessions/{session_id}
func (a *api) tenantRevoke(c *gin.Context) {
	p, tenantID, id, ok := a.tenantSession(c, auth.Write)
	if !ok {
		return
	}
	a.revokeOne(c, p, tenantID, id, "tenant_revoke")
}

// tenantSession checks the tenant's reach for access and reads the session
// id of the path; ok is false when it has answered already.
func (a *api) tenantSession(c *gin.Context, access auth.Access) (p auth.Principal, tenantID, id string, ok bool) {
	var v ValidationError
	if p, tenantID, ok = a.tenantScope(c, &v, access); !ok {
		return p, "", "", false
	}
	id = pathID(c, &v, "session_id", session.ValidID)
	if err := v.err(); err != nil {
		fail(c, err)
		return p, "", "", false
	}
	return p, tenantID, id, true
}
