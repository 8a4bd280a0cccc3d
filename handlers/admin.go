package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/session"
)

// Pagination bounds.
const (
	defaultPerPage = 20
	maxPerPage     = 100
	maxPage        = 1_000_000_000
)

func readPage(c *gin.Context, v *ValidationError) session.Page {
	return session.Page{
		Number:  queryInt(c, v, "page", 1, 1, maxPage),
		PerPage: queryInt(c, v, "per_page", defaultPerPage, 1, maxPerPage),
	}
}

// adminList: GET /api/v1/admin/sessions
func (a *api) adminList(c *gin.Context) {
	p := principal(c)
	if err := auth.Admin(p, auth.Read); err != nil {
		fail(c, err)
		return
	}
	var v ValidationError
	pg := readPage(c, &v)
	f := session.Filter{
		UserID:    queryID(c, &v, "user_id", session.ValidUserID),
		TenantID:  queryID(c, &v, "tenant_id", session.ValidTenantID),
		PartnerID: queryID(c, &v, "partner_id", session.ValidTenantID),
	}
	if err := v.err(); err != nil {
		fail(c, err)
		return
	}
	f, empty := auth.NarrowFilter(p, f)
	res := session.PageResult{Items: []session.Session{}}
	if !empty {
		var err error
		if res, err = a.Store.List(c, f, pg); err != nil {
			fail(c, err)
			return
		}
	}
	respondPage(c, toAdminListItems(res.Items, p.SessionID), pg, res.Total)
}

// adminRevokeAll: POST /api/v1/admin/sessions/revoke-all
func (a *api) adminRevokeAll(c *gin.Context) {
	var v ValidationError
	p, b, ok := allowedBody(c, func(p auth.Principal) error { return auth.Admin(p, auth.Write) }, &v)
	if !ok {
		return
	}
	f := session.Filter{
		UserID:    b.id("user_id", false, session.ValidUserID),
		TenantID:  b.id("tenant_id", false, session.ValidTenantID),
		PartnerID: b.id("partner_id", false, session.ValidTenantID),
	}
	if len(v) == 0 && f.Empty() {
		v.add("value_error", "Value error, at least one of user_id, tenant_id or partner_id is required", "body")
	}
	if err := v.err(); err != nil {
		fail(c, err)
		return
	}
	f, empty := auth.NarrowFilter(p, f)
	if empty {
		respond(c, http.StatusOK, toRevokeResponse(nil))
		return
	}
	a.revokeAndRespond(c, session.Revocation{
		Filter: f, Reason: "admin_revoke_all", Actor: p.Subject, ActorRole: p.Role, Target: filterTarget(f),
	})
}

// revokeAndRespond runs a revocation and answers {data: {revoked_count,
// session_ids}}.
func (a *api) revokeAndRespond(c *gin.Context, r session.Revocation) {
	revoked, err := a.Store.Revoke(c, r)
	a.revoked(r.Reason, revoked)
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, http.StatusOK, toRevokeResponse(revoked))
}

// adminSession loads a session by id for an admin caller; one out of reach is
// not found, so that existence does not leak.
func (a *api) adminSession(c *gin.Context, access auth.Access, ended bool) (auth.Principal, session.Session, bool) {
	p := principal(c)
	if err := auth.Admin(p, access); err != nil {
		fail(c, err)
		return p, session.Session{}, false
	}
	var v ValidationError
	id := pathID(c, &v, "session_id", session.ValidID)
	if err := v.err(); err != nil {
		fail(c, err)
		return p, session.Session{}, false
	}
	s, err := a.Store.Get(c, id)
	if ended && errors.Is(err, session.ErrNotFound) {
		s, err = a.Store.GetEnded(c, "", id)
	}
	if err == nil && !auth.CanReachSession(p, s.TenantID, s.PartnerID) {
		err = session.ErrNotFound
	}
	if err != nil {
		fail(c, err)
		return p, session.Session{}, false
	}
	c.Set(keyTenant, s.TenantID)
	return p, s, true
}

// adminGet: GET /api/v1/admin/sessions/{session_id}
func (a *api) adminGet(c *gin.Context) {
	p, s, ok := a.adminSession(c, auth.Read, true)
	if ok {
		respond(c, http.StatusOK, toSessionResponse(s, p.SessionID))
	}
}

// filterTarget names the sessions an admin revoke-all selected, for the
// audit: "filter:" and the filter's fields.
func filterTarget(f session.Filter) string {
	var parts []string
	for _, kv := range [][2]string{{"user_id", f.UserID}, {"tenant_id", f.TenantID}, {"partner_id", f.PartnerID}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	return "filter:" + strings.Join(parts, ",")
}

// adminRevoke: DELETE /api/v1/admin/sessions/{session_id}
func (a *api) adminRevoke(c *gin.Context) {
	p, s, ok := a.adminSession(c, auth.Write, false)
	if ok {
		a.revokeOne(c, p, s.TenantID, s.ID, "admin_revoke")
	}
}

// revokeOne revokes one session of a tenant and answers 204, or 404 when it
// was gone already.
func (a *api) revokeOne(c *gin.Context, p auth.Principal, tenantID, id, reason string) {
	revoked, err := a.Store.Revoke(c, session.Revocation{
		Filter: session.Filter{TenantID: tenantID}, IDs: []string{id}, Reason: reason, Actor: p.Subject,
		ActorRole: p.Role, Target: session.AuditTargetSession,
	})
	a.revoked(reason, revoked)
	if err == nil && len(revoked) == 0 {
		err = session.ErrNotFound
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// revoked counts what a revocation ended and drops it from the verify
// cache, so that this instance refuses it on the very next request.
func (a *api) revoked(reason string, rs []session.Revoked) {
	a.Metrics.Revoked(reason, len(rs))
	if a.VerifyCache != nil && len(rs) > 0 {
		ids := make([]string, len(rs))
		for i, r := range rs {
			ids[i] = r.ID
		}
		a.VerifyCache.Invalidate(ids...)
	}
}
