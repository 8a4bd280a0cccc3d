package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/sessiond/sessiond/pkg/config"
	"github.com/sessiond/sessiond/pkg/events"
	"github.com/sessiond/sessiond/pkg/metrics"
	"github.com/sessiond/sessiond/pkg/push"
	"github.com/sessiond/sessiond/pkg/receiver"
	"github.com/sessiond/sessiond/pkg/session"
	"github.com/sessiond/sessiond/pkg/verifycache"
)

// Deps is what the HTTP layer needs.
type Deps struct {
	Store    session.Store
	Verifier Verifier
	Log      *zap.Logger
	// MaxLifetime bounds expires_at - now of a new session;
	// DefaultMaxLifetime when zero.
	MaxLifetime time.Duration
	// DeviceOf derives a device type from a user agent; when nil every
	// session without a device_type is "unknown".
	DeviceOf func(userAgent string) string
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Events is the revocation log and Broker wakes its followers; both are
	// needed for GET /api/v1/internal/sessions/events.
	Events session.EventLog
	Broker *events.Broker
	// ShuttingDown, when closed, ends the event streams (which never end by
	// themselves) so that a graceful shutdown can drain.
	ShuttingDown <-chan struct{}
	// KeepAlive is the period of SSE keep-alive comments (default 15s).
	KeepAlive time.Duration
	// ActivityInterval, when positive, lets verify record activity at most
	// once per interval per session.
	ActivityInterval time.Duration
	// Metrics, when set, records request metrics and is served at /metrics.
	Metrics *metrics.Metrics
	// Console, when set, serves the browser console at /console and the
	// assets below it.
	Console http.Handler
	// Receivers and Push, when both set, serve the push receivers of a
	// tenant (/api/v1/tenants/{t}/sessions/receivers) and of a partner or
	// the platform (/api/v1/admin/sessions/receivers); JWKS serves the keys that sign what they get
	// at /.well-known/jwks.json. PushAllowLoopbackHTTP lets a receiver URL
	// be http to a loopback host (dev mode).
	// VerifyCache, when set, lets verify answer a token it answered less
	// than its max age ago without reading Redis (see pkg/verifycache);
	// the router invalidates it on each revocation it makes.
	VerifyCache           *verifycache.Cache
	Receivers             receiver.Store
	Push                  *push.Worker
	JWKS                  http.Handler
	PushAllowLoopbackHTTP bool
}

// DefaultMaxLifetime is SESSIOND_MAX_SESSION_LIFETIME's default.
const DefaultMaxLifetime = config.DefaultMaxSessionLifetime

// api holds the dependencies the route handlers share.
type api struct {
	Deps
	activity *activityThrottle
}

// New builds the router with every route of sessiond.
func New(d Deps) *gin.Engine {
	if d.Log == nil {
		d.Log = zap.NewNop()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxLifetime <= 0 {
		d.MaxLifetime = DefaultMaxLifetime
	}
	if d.DeviceOf == nil {
		d.DeviceOf = func(string) string { return session.DeviceUnknown }
	}
	if d.KeepAlive <= 0 {
		d.KeepAlive = 15 * time.Second
	}
	a := &api{Deps: d, activity: newActivityThrottle(d.ActivityInterval)}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(requestContext(d.Log, d.Metrics), recovery())
	r.NoRoute(func(c *gin.Context) { fail(c, errNotFound) })
	r.NoMethod(func(c *gin.Context) { fail(c, errNoMethod) })

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", a.ready)
	registerDocs(r)
	if d.JWKS != nil {
		r.GET("/.well-known/jwks.json", gin.WrapH(d.JWKS))
	}
	if d.Console != nil {
		r.GET("/console", gin.WrapH(d.Console))
		r.GET("/console/*asset", gin.WrapH(d.Console))
	}
	if d.Metrics != nil {
		r.GET("/metrics", gin.WrapH(d.Metrics.Handler()))
	}

	// Forward-auth answers whatever method the gateway forwards, and Envoy's
	// ext_authz appends the original path to the prefix.
	for _, path := range []string{"/api/v1/auth/verify", "/api/v1/auth/verify/*original"} {
		r.Match(verifyMethods, path, a.verify)
	}

	v1 := r.Group("/api/v1", refuseDotSegments, authenticate(d.Verifier))

	admin := v1.Group("/admin/sessions")
	a.sessionRoutes(admin, sessionGroup{
		list: a.adminList, revokeAll: a.adminRevokeAll, get: a.adminGet, revoke: a.adminRevoke, owner: a.adminOwner,
	})
	admin.GET("/", a.adminList)

	me := v1.Group("/me/sessions")
	me.GET("", a.meList)
	me.POST("/revoke-all", a.meRevokeAll)
	me.DELETE("/:session_id", a.meRevoke)

	t := v1.Group("/tenants/:tenant_id/sessions")
	a.sessionRoutes(t, sessionGroup{
		list: a.tenantList, revokeAll: a.tenantRevokeAll, get: a.tenantGet, revoke: a.tenantRevoke, owner: a.tenantOwner,
	})
	t.GET("/stats", a.tenantStats)
	t.GET("/audit", a.tenantAudit)
	t.GET("/policy", a.tenantPolicy)
	t.PUT("/policy", a.tenantSetPolicy)
	t.GET("/users/:user_id", a.tenantUserList)
	t.POST("/users/:user_id/revoke", a.tenantUserRevoke)

	in := v1.Group("/internal/sessions")
	in.POST("", a.internalCreate)
	if d.Events != nil && d.Broker != nil {
		in.GET("/events", a.events)
	}
	in.POST("/:session_id/activity", a.internalActivity)
	return r
}

// sessionGroup is what the admin and the tenant session groups share: the
// handlers of a list, a revoke-all, and one session's get and revoke, and
// the owner of the group's push receivers.
type sessionGroup struct {
	list, revokeAll, get, revoke gin.HandlerFunc
	owner                        ownerOf
}

// sessionRoutes registers s's routes on g, the receivers' only when push
// is on (Receivers and Push set).
func (a *api) sessionRoutes(g *gin.RouterGroup, s sessionGroup) {
	g.GET("", s.list)
	g.POST("/revoke-all", s.revokeAll)
	g.GET("/:session_id", s.get)
	g.DELETE("/:session_id", s.revoke)
	if a.Receivers != nil && a.Push != nil {
		a.receiverRoutes(g, s.owner)
	}
}

var verifyMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions}

// ready answers 200 when Redis answers, 503 otherwise.
func (a *api) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := a.Store.Ping(ctx); err != nil {
		a.Log.Warn("not ready", zap.String("request_id", requestID(c)), zap.Error(err))
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "detail": "redis unreachable"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}
