package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/session"
)

// maxOwnSessions bounds GET /api/v1/me/sessions, which the reference does not
// paginate; a user with more sessions sees the latest-expiring ones.
const maxOwnSessions = 1000

// own is the filter of the caller's own sessions: the token's tenant when it
// names one, else every tenant the user has sessions in.
func own(p auth.Principal) session.Filter {
	return session.Filter{TenantID: p.TenantID, UserID: p.Subject}
}

// meList: GET /api/v1/me/sessions
func (a *api) meList(c *gin.Context) {
	p := principal(c)
	if err := auth.Me(p); err != nil {
		fail(c, err)
		return
	}
	res, err := a.Store.List(c, own(p), session.Page{Number: 1, PerPage: maxOwnSessions})
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, http.StatusOK, toListItems(res.Items, p.SessionID))
}

// meRevokeAll: POST /api/v1/me/sessions/revoke-all keeps the token's session.
func (a *api) meRevokeAll(c *gin.Context) {
	p := principal(c)
	if err := auth.Me(p); err != nil {
		fail(c, err)
		return
	}
	a.revokeAndRespond(c, session.Revocation{
		Filter: own(p), ExceptID: p.SessionID, Reason: "user_revoke_others", Actor: p.Subject,
		ActorRole: p.Role, Target: session.AuditTargetUser,
	})
}

// meRevoke: DELETE /api/v1/me/sessions/{session_id} revokes one of the
// caller's own sessions; anyone else's is not found.
func (a *api) meRevoke(c *gin.Context) {
	p := principal(c)
	if err := auth.Me(p); err != nil {
		fail(c, err)
		return
	}
	var v ValidationError
	id := pathID(c, &v, "session_id", session.ValidID)
	if err := v.err(); err != nil {
		fail(c, err)
		return
	}
	var s session.Session
	var err error
	if p.TenantID != "" {
		s, err = a.Store.GetInTenant(c, p.TenantID, id)
	} else {
		s, err = a.Store.Get(c, id)
	}
	if err == nil && s.UserID != p.Subject {
		err = session.ErrNotFound
	}
	if err != nil {
		fail(c, err)
		return
	}
	f := session.Filter{TenantID: s.TenantID, UserID: p.Subject}
	revoked, err := a.Store.Revoke(c, session.Revocation{
		Filter: f, IDs: []string{id}, Reason: "user_revoke", Actor: p.Subject,
		ActorRole: p.Role, Target: session.AuditTargetSession,
	})
	a.revoked("user_revoke", revoked)
	if err == nil && len(revoked) == 0 {
		err = session.ErrNotFound
	}
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, http.StatusOK, toRevokeResponse(revoked))
}
