package client

import (
	"context"
	"fmt"
	"net/http"
)

const verifyPath = "/api/v1/auth/verify"

// Verify checks a user's bearer token (GET /api/v1/auth/verify): its
// signature and expiry, and that its sid names a live session of its user.
// It sends token, not the client's own token. A refused token is an *Error
// matching ErrUnauthorized whose Reason says why; when sessiond cannot tell
// (Redis down, unreachable) the error matches ErrUnavailable. Either way the
// caller must deny: Verify returns an Identity only on success.
func (c *Client) Verify(ctx context.Context, token string) (Identity, error) {
	req, err := c.newRequest(ctx, http.MethodGet, verifyPath, nil, nil, token)
	if err != nil {
		return Identity{}, err
	}
	resp, err := c.send(req)
	if err != nil {
		return Identity{}, err
	}
	defer closeBody(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Identity{}, responseError(resp)
	}
	h := resp.Header
	id := Identity{
		SessionID: h.Get("X-Session-Id"),
		UserID:    h.Get("X-User-Id"),
		TenantID:  h.Get("X-Tenant-Id"),
		PartnerID: h.Get("X-Partner-Id"),
	}
	if id.SessionID == "" || id.UserID == "" {
		// A proxy answering 200 for sessiond is no proof of a session.
		return Identity{}, fmt.Errorf("client: verify: %d answer without X-Session-Id and X-User-Id: %w", resp.StatusCode, ErrUnavailable)
	}
	return id, nil
}

// CreateSession stores a new session (POST /api/v1/internal/sessions, scope
// sessions:write). ErrConflict when r.ID exists already.
func (c *Client) CreateSession(ctx context.Context, r CreateSessionRequest) (Session, error) {
	var env envelope[Session]
	if err := c.call(ctx, http.MethodPost, "/api/v1/internal/sessions", nil, r, &env); err != nil {
		return Session{}, err
	}
	return env.Data, nil
}

// RecordActivity sets a session's last activity and records an SSO
// application access when a.ApplicationID is set
// (POST /api/v1/internal/sessions/{id}/activity, scope sessions:write).
// ErrNotFound when the session is gone.
func (c *Client) RecordActivity(ctx context.Context, sessionID string, a Activity) error {
	id, err := seg("session id", sessionID)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodPost, "/api/v1/internal/sessions/"+id+"/activity", nil, a, nil)
}
