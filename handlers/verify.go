package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/sessiond/sessiond/pkg/session"
	"github.com/sessiond/sessiond/pkg/verifycache"
)

// verify: GET /api/v1/auth/verify, forward-auth for gateways (nginx
// auth_request, Traefik forwardAuth, Envoy ext_authz in HTTP mode). It
// checks the caller's own token and that its sid names a live session of
// the same user, in one Redis round trip when the token names its tenant.
// Any failure to know answers 401 or 503: never 200 on an error.
func (a *api) verify(c *gin.Context) {
	raw, ok := bearer(c.GetHeader("Authorization"))
	if !ok {
		// RFC 6750 §3.1: no error code when no credentials were sent.
		c.Header("WWW-Authenticate", "Bearer")
		detail(c, http.StatusUnauthorized, "missing bearer token")
		return
	}
	p, err := a.Verifier.Verify(c, raw)
	if err != nil {
		verifyDenied(c, reason(err))
		return
	}
	if p.SessionID == "" {
		verifyDenied(c, "token has no valid sid")
		return
	}
	var key verifycache.Key
	var gen uint64
	if a.VerifyCache != nil {
		key = verifycache.KeyOf(raw)
		if e, ok := a.VerifyCache.Get(key, time.Now()); ok {
			s := session.Session{ID: e.SessionID, UserID: e.UserID, TenantID: e.TenantID, PartnerID: e.PartnerID,
				CreatedAt: e.CreatedAt, LastActivityAt: e.LastActivityAt}
			a.allow(c, &s)
			return
		}
		gen = a.VerifyCache.Gen()
	}
	// The verifier refuses a token whose tenant_id is present but not a
	// valid id: "" here means the token names no tenant, and only then is
	// the session looked up by its id alone.
	var s session.Session
	if p.TenantID != "" {
		s, err = a.Store.GetInTenant(c, p.TenantID, p.SessionID)
	} else {
		s, err = a.Store.Get(c, p.SessionID)
	}
	switch {
	case errors.Is(err, session.ErrNotFound):
		verifyDenied(c, "session revoked or expired")
		return
	case err != nil:
		fail(c, err)
		return
	case s.UserID != p.Subject:
		verifyDenied(c, "session belongs to another user")
		return
	}
	if a.VerifyCache != nil {
		a.VerifyCache.Put(key, verifycache.Entry{
			SessionID: s.ID, UserID: s.UserID, TenantID: s.TenantID, PartnerID: s.PartnerID,
			ExpiresAt: s.ExpiresAt, TokenExp: p.ExpiresAt, CreatedAt: s.CreatedAt, LastActivityAt: s.LastActivityAt,
		}, gen, time.Now())
	}
	a.allow(c, &s)
}

// allow answers 200 with the session's identity headers (and records
// activity when it is due).
func (a *api) allow(c *gin.Context, s *session.Session) {
	setTenant(c, s.TenantID)
	a.activity.maybeTouch(a.Store, s, a.Now(), a.Log)
	// One backing array for the identity headers, assigned under their
	// canonical names: four Header.Set calls would allocate four slices.
	v := make([]string, 4)
	v[0], v[1], v[2], v[3] = s.ID, s.UserID, s.TenantID, s.PartnerID
	h := c.Writer.Header()
	h["X-Session-Id"] = v[0:1:1]
	h["X-User-Id"] = v[1:2:2]
	h["X-Tenant-Id"] = v[2:3:3]
	if s.PartnerID != "" {
		h["X-Partner-Id"] = v[3:4:4]
	}
	c.Status(http.StatusOK)
}

// verifyDenied answers 401 with the reason in WWW-Authenticate (RFC 6750),
// where gateways pass it on.
func verifyDenied(c *gin.Context, why string) {
	why = strings.ReplaceAll(why, `"`, "'")
	c.Header("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+why+`"`)
	detail(c, http.StatusUnauthorized, why)
}

// activityThrottle records verify-time activity at most once per interval
// per session: the session's own last_activity_at (shared by every instance)
// decides, and a local map stops one instance from writing twice while its
// first write is in flight. Writes are asynchronous and bounded in number:
// the hot path never waits for them.
type activityThrottle struct {
	interval time.Duration
	slots    chan struct{}
	mu       sync.Mutex
	pending  map[string]time.Time
}

// maxPendingTouches bounds the local throttle map and concurrent writes.
const (
	maxPendingTouches  = 100_000
	maxConcurrentTouch = 64
	touchTimeout       = 2 * time.Second
)

func newActivityThrottle(interval time.Duration) *activityThrottle {
	return &activityThrottle{interval: interval, slots: make(chan struct{}, maxConcurrentTouch), pending: map[string]time.Time{}}
}

func (t *activityThrottle) maybeTouch(st session.Store, s *session.Session, now time.Time, log *zap.Logger) {
	if t == nil || t.interval <= 0 {
		return
	}
	last := s.LastActivityAt
	if last.IsZero() {
		last = s.CreatedAt
	}
	if now.Sub(last) < t.interval {
		return
	}
	t.mu.Lock()
	if at, ok := t.pending[s.ID]; ok && now.Sub(at) < t.interval {
		t.mu.Unlock()
		return
	}
	if len(t.pending) >= maxPendingTouches {
		clear(t.pending)
	}
	t.pending[s.ID] = now
	t.mu.Unlock()
	select {
	case t.slots <- struct{}{}:
	default:
		return // saturated: skip this write, a later verify will do it
	}
	// Only the ids go to the goroutine: a closure over s would move the
	// whole session to the heap on every verify, touch or not.
	go t.touch(st, s.TenantID, s.ID, now, log)
}

func (t *activityThrottle) touch(st session.Store, tenantID, id string, now time.Time, log *zap.Logger) {
	defer func() { <-t.slots }()
	ctx, cancel := context.WithTimeout(context.Background(), touchTimeout)
	defer cancel()
	if err := st.Touch(ctx, tenantID, id, session.Activity{At: now}); err != nil && !errors.Is(err, session.ErrNotFound) {
		log.Warn("verify: recording activity failed", zap.Error(err))
	}
}
