package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// The Sessions API: admin, me and tenant endpoints. Each uses the client's
// token (WithToken, or As for a per-call one).

// ListSessions lists the sessions matching f within the caller's reach
// (GET /api/v1/admin/sessions), ordered by expiry, latest first.
func (c *Client) ListSessions(ctx context.Context, f AdminFilter, p Page) (SessionPage, error) {
	q := pageQuery(p)
	setNonEmpty(q, "user_id", f.UserID)
	setNonEmpty(q, "tenant_id", f.TenantID)
	setNonEmpty(q, "partner_id", f.PartnerID)
	return c.page(ctx, "/api/v1/admin/sessions", q)
}

// GetSession returns a session within the caller's reach
// (GET /api/v1/admin/sessions/{id}).
func (c *Client) GetSession(ctx context.Context, sessionID string) (Session, error) {
	id, err := seg("session id", sessionID)
	if err != nil {
		return Session{}, err
	}
	return c.session(ctx, "/api/v1/admin/sessions/"+id)
}

// RevokeSession revokes one session (DELETE /api/v1/admin/sessions/{id});
// ErrNotFound when it was gone already or is out of reach.
func (c *Client) RevokeSession(ctx context.Context, sessionID string) error {
	id, err := seg("session id", sessionID)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, "/api/v1/admin/sessions/"+id, nil, nil, nil)
}

// RevokeAll revokes the sessions matching every field of r, within the
// caller's reach (POST /api/v1/admin/sessions/revoke-all).
func (c *Client) RevokeAll(ctx context.Context, r AdminRevokeAll) (RevokeResult, error) {
	return c.revoke(ctx, "/api/v1/admin/sessions/revoke-all", r)
}

// MySessions lists the caller's own active sessions (GET /api/v1/me/sessions);
// IsCurrent marks the token's own.
func (c *Client) MySessions(ctx context.Context) ([]SessionListItem, error) {
	var env envelope[[]SessionListItem]
	if err := c.call(ctx, http.MethodGet, "/api/v1/me/sessions", nil, nil, &env); err != nil {
		return nil, err
	}
	return env.Data, nil
}

// RevokeMyOtherSessions revokes every session of the caller except the
// token's own (POST /api/v1/me/sessions/revoke-all).
func (c *Client) RevokeMyOtherSessions(ctx context.Context) (RevokeResult, error) {
	return c.revoke(ctx, "/api/v1/me/sessions/revoke-all", nil)
}

// RevokeMySession revokes one of the caller's own sessions
// (DELETE /api/v1/me/sessions/{id}).
func (c *Client) RevokeMySession(ctx context.Context, sessionID string) (RevokeResult, error) {
	id, err := seg("session id", sessionID)
	if err != nil {
		return RevokeResult{}, err
	}
	var env envelope[RevokeResult]
	if err := c.call(ctx, http.MethodDelete, "/api/v1/me/sessions/"+id, nil, nil, &env); err != nil {
		return RevokeResult{}, err
	}
	return env.Data, nil
}

// TenantSessions lists a tenant's sessions (GET /api/v1/tenants/{t}/sessions).
func (c *Client) TenantSessions(ctx context.Context, tenantID string, f TenantFilter, p Page) (SessionPage, error) {
	t, err := seg("tenant id", tenantID)
	if err != nil {
		return SessionPage{}, err
	}
	q := pageQuery(p)
	setNonEmpty(q, "user_id", f.UserID)
	if f.IncludeInactive {
		q.Set("active_only", "false")
	}
	return c.page(ctx, "/api/v1/tenants/"+t+"/sessions", q)
}

// TenantAudit returns one page of a tenant's revocation audit, newest first
// (GET /api/v1/tenants/{t}/sessions/audit, an extension).
func (c *Client) TenantAudit(ctx context.Context, tenantID string, p Page) (AuditPage, error) {
	t, err := seg("tenant id", tenantID)
	if err != nil {
		return AuditPage{}, err
	}
	var env envelope[[]AuditEntry]
	if err := c.call(ctx, http.MethodGet, "/api/v1/tenants/"+t+"/sessions/audit", pageQuery(p), nil, &env); err != nil {
		return AuditPage{}, err
	}
	pg := AuditPage{Entries: env.Data, Meta: env.Meta}
	if env.Pagination != nil {
		pg.Pagination = *env.Pagination
	}
	if pg.Entries == nil {
		pg.Entries = []AuditEntry{}
	}
	return pg, nil
}

// TenantPolicy returns a tenant's effective session policy
// (GET /api/v1/tenants/{t}/sessions/policy, an extension).
func (c *Client) TenantPolicy(ctx context.Context, tenantID string) (Policy, error) {
	return c.policy(ctx, http.MethodGet, tenantID, nil)
}

// SetTenantPolicy replaces a tenant's session policy and returns the
// effective one (PUT /api/v1/tenants/{t}/sessions/policy, an extension);
// zero fields take the service default.
func (c *Client) SetTenantPolicy(ctx context.Context, tenantID string, p Policy) (Policy, error) {
	return c.policy(ctx, http.MethodPut, tenantID, p)
}

func (c *Client) policy(ctx context.Context, method, tenantID string, body any) (Policy, error) {
	t, err := seg("tenant id", tenantID)
	if err != nil {
		return Policy{}, err
	}
	var env envelope[Policy]
	if err := c.call(ctx, method, "/api/v1/tenants/"+t+"/sessions/policy", nil, body, &env); err != nil {
		return Policy{}, err
	}
	return env.Data, nil
}

// TenantUserSessions lists one user's sessions in a tenant
// (GET /api/v1/tenants/{t}/sessions/users/{u}).
func (c *Client) TenantUserSessions(ctx context.Context, tenantID, userID string, p Page) (SessionPage, error) {
	t, err := seg("tenant id", tenantID)
	if err != nil {
		return SessionPage{}, err
	}
	u, err := seg("user id", userID)
	if err != nil {
		return SessionPage{}, err
	}
	return c.page(ctx, "/api/v1/tenants/"+t+"/sessions/users/"+u, pageQuery(p))
}

// RevokeUserSessions revokes a user's sessions in a tenant, all of them or
// the listed ones (POST /api/v1/tenants/{t}/sessions/users/{u}/revoke). Ids
// that are not that user's in that tenant are ignored and not counted.
func (c *Client) RevokeUserSessions(ctx context.Context, tenantID, userID string, r SessionRevokeRequest) (RevokeResult, error) {
	t, err := seg("tenant id", tenantID)
	if err != nil {
		return RevokeResult{}, err
	}
	u, err := seg("user id", userID)
	if err != nil {
		return RevokeResult{}, err
	}
	return c.revoke(ctx, "/api/v1/tenants/"+t+"/sessions/users/"+u+"/revoke", r)
}

// RevokeTenantSessions revokes every session of a tenant
// (POST /api/v1/tenants/{t}/sessions/revoke-all).
func (c *Client) RevokeTenantSessions(ctx context.Context, tenantID string) (RevokeResult, error) {
	t, err := seg("tenant id", tenantID)
	if err != nil {
		return RevokeResult{}, err
	}
	return c.revoke(ctx, "/api/v1/tenants/"+t+"/sessions/revoke-all", nil)
}

// TenantStats returns a tenant's session figures
// (GET /api/v1/tenants/{t}/sessions/stats).
func (c *Client) TenantStats(ctx context.Context, tenantID string) (Stats, error) {
	t, err := seg("tenant id", tenantID)
	if err != nil {
		return Stats{}, err
	}
	var env envelope[Stats]
	if err := c.call(ctx, http.MethodGet, "/api/v1/tenants/"+t+"/sessions/stats", nil, nil, &env); err != nil {
		return Stats{}, err
	}
	return env.Data, nil
}

// TenantSession returns one session of a tenant
// (GET /api/v1/tenants/{t}/sessions/{id}).
func (c *Client) TenantSession(ctx context.Context, tenantID, sessionID string) (Session, error) {
	t, err := seg("tenant id", tenantID)
	if err != nil {
		return Session{}, err
	}
	id, err := seg("session id", sessionID)
	if err != nil {
		return Session{}, err
	}
	return c.session(ctx, "/api/v1/tenants/"+t+"/sessions/"+id)
}

// RevokeTenantSession revokes one session of a tenant
// (DELETE /api/v1/tenants/{t}/sessions/{id}); ErrNotFound when it was gone.
func (c *Client) RevokeTenantSession(ctx context.Context, tenantID, sessionID string) error {
	t, err := seg("tenant id", tenantID)
	if err != nil {
		return err
	}
	id, err := seg("session id", sessionID)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, "/api/v1/tenants/"+t+"/sessions/"+id, nil, nil, nil)
}

func (c *Client) page(ctx context.Context, path string, q url.Values) (SessionPage, error) {
	var env envelope[[]SessionListItem]
	if err := c.call(ctx, http.MethodGet, path, q, nil, &env); err != nil {
		return SessionPage{}, err
	}
	pg := SessionPage{Sessions: env.Data, Meta: env.Meta}
	if env.Pagination != nil {
		pg.Pagination = *env.Pagination
	}
	if pg.Sessions == nil {
		pg.Sessions = []SessionListItem{}
	}
	return pg, nil
}

func (c *Client) session(ctx context.Context, path string) (Session, error) {
	var env envelope[Session]
	if err := c.call(ctx, http.MethodGet, path, nil, nil, &env); err != nil {
		return Session{}, err
	}
	return env.Data, nil
}

func (c *Client) revoke(ctx context.Context, path string, body any) (RevokeResult, error) {
	var env envelope[RevokeResult]
	if err := c.call(ctx, http.MethodPost, path, nil, body, &env); err != nil {
		return RevokeResult{}, err
	}
	if env.Data.SessionIDs == nil {
		env.Data.SessionIDs = []string{}
	}
	return env.Data, nil
}

func pageQuery(p Page) url.Values {
	q := url.Values{}
	if p.Page != 0 {
		q.Set("page", strconv.Itoa(p.Page))
	}
	if p.PerPage != 0 {
		q.Set("per_page", strconv.Itoa(p.PerPage))
	}
	return q
}

func setNonEmpty(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

// Receivers lists a tenant's push receivers
// (GET /api/v1/tenants/{t}/sessions/receivers, an extension). In every
// receivers method, tenantID "" addresses instead the receivers of the
// caller's partner (a partner admin's token) or of the platform (a super
// admin's), under /api/v1/admin/sessions/receivers.
func (c *Client) Receivers(ctx context.Context, tenantID string) ([]Receiver, error) {
	var out []Receiver
	err := c.receiverCall(ctx, http.MethodGet, tenantID, "", "", nil, &out)
	return out, err
}

// AddReceiver registers a push receiver (POST …/receivers).
func (c *Client) AddReceiver(ctx context.Context, tenantID string, r NewReceiver) (Receiver, error) {
	var out Receiver
	err := c.receiverCall(ctx, http.MethodPost, tenantID, "", "", r, &out)
	return out, err
}

// DeleteReceiver removes a push receiver (DELETE …/receivers/{id}).
func (c *Client) DeleteReceiver(ctx context.Context, tenantID, receiverID string) error {
	return c.receiverCall(ctx, http.MethodDelete, tenantID, receiverID, "", nil, nil)
}

// ReceiverFailures lists the pushes to a receiver that failed past their
// retries, newest first (GET …/receivers/{id}/failures).
func (c *Client) ReceiverFailures(ctx context.Context, tenantID, receiverID string) ([]DeliveryFailure, error) {
	var out []DeliveryFailure
	err := c.receiverCall(ctx, http.MethodGet, tenantID, receiverID, "/failures", nil, &out)
	return out, err
}

// Redeliver tries a receiver's failures once more (POST …/receivers/{id}/redeliver).
func (c *Client) Redeliver(ctx context.Context, tenantID, receiverID string) (Redelivery, error) {
	var out Redelivery
	err := c.receiverCall(ctx, http.MethodPost, tenantID, receiverID, "/redeliver", nil, &out)
	return out, err
}

// receiverCall sends one receivers request and decodes its data into out.
func (c *Client) receiverCall(ctx context.Context, method, tenantID, receiverID, suffix string, body, out any) error {
	path := "/api/v1/admin/sessions/receivers"
	if tenantID != "" {
		t, err := seg("tenant id", tenantID)
		if err != nil {
			return err
		}
		path = "/api/v1/tenants/" + t + "/sessions/receivers"
	}
	if receiverID != "" || suffix != "" {
		id, err := seg("receiver id", receiverID)
		if err != nil {
			return err
		}
		path += "/" + id + suffix
	}
	if out == nil {
		return c.call(ctx, method, path, nil, body, nil)
	}
	var env envelope[json.RawMessage]
	if err := c.call(ctx, method, path, nil, body, &env); err != nil {
		return err
	}
	return json.Unmarshal(env.Data, out)
}
