package handlers

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/metrics"
	"github.com/sessiond/sessiond/pkg/session"
)

// Gin context keys.
const (
	keyPrincipal = "sessiond.principal"
	keyTenant    = "sessiond.tenant"
	keyState     = "sessiond.state"
)

// Request ids are random UUIDs; the pool batches the random reads, which
// would otherwise be a syscall on the hot path of every request.
func init() { uuid.EnableRandPool() }

// maxRequestIDLen bounds an echoed X-Request-ID.
const maxRequestIDLen = 128

// saneRequestID reports whether a caller's X-Request-ID may be echoed:
// 1..128 of [A-Za-z0-9._-].
func saneRequestID(s string) bool { return session.Charset(s, maxRequestIDLen, "._-") }

// reqState is what the middleware keeps for one request. It lives in the
// gin context's Keys under keyState, as a pointer so that storing it boxes
// nothing; both it and its Keys map come from statePool, so a request
// allocates neither.
type reqState struct {
	id     string
	tenant string
	log    *zap.Logger
	full   *fullAlarm
	keys   map[any]any
}

var statePool = sync.Pool{New: func() any { return &reqState{keys: make(map[any]any, 4)} }}

// state returns the request's state; nil outside requestContext (tests that
// call a handler without the middleware).
func state(c *gin.Context) *reqState {
	v, _ := c.Get(keyState)
	st, _ := v.(*reqState)
	return st
}

// requestContext assigns the request id and echoes it, records the request's
// metrics (route template, method, status, latency, requests in flight) and
// writes one access log line. One middleware, so one clock read at each end.
func requestContext(log *zap.Logger, m *metrics.Metrics) gin.HandlerFunc {
	full := &fullAlarm{m: m, log: log}
	return func(c *gin.Context) {
		start := time.Now()
		m.InFlight(1)
		st := statePool.Get().(*reqState)
		// Indexed by its canonical form: GetHeader("X-Request-ID") would
		// allocate the canonical key on every request.
		if v := c.Request.Header["X-Request-Id"]; len(v) > 0 {
			st.id = v[0]
		}
		if !saneRequestID(st.id) {
			st.id = uuid.NewString()
		}
		st.log = log
		st.full = full
		st.keys[keyState] = st
		c.Keys = st.keys
		// The key is canonical already: assigning skips Set's canonicalisation.
		c.Writer.Header()["X-Request-Id"] = []string{st.id}
		defer func() {
			m.InFlight(-1)
			// The handlers are done with the context (a gin Copy has Keys of
			// its own), so the state goes back to the pool.
			c.Keys = nil
			clear(st.keys)
			*st = reqState{keys: st.keys}
			statePool.Put(st)
		}()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		end := time.Now()
		m.ObserveRequest(route, c.Request.Method, status, end.Sub(start))
		// Check first: a disabled level costs no field building.
		ce := log.Check(zap.InfoLevel, "request")
		if ce == nil {
			return
		}
		fields := []zap.Field{
			zap.String("request_id", st.id), zap.String("method", c.Request.Method),
			zap.String("route", route), zap.Int("status", status),
			zap.Duration("latency", end.Sub(start)),
		}
		t := st.tenant
		if t == "" {
			t = c.GetString(keyTenant)
		}
		if t != "" {
			fields = append(fields, zap.String("tenant_id", t))
		}
		ce.Write(fields...)
	}
}

// recovery turns a panic into a logged 500 without internals.
func recovery() gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, rec any) {
		logger(c).Error("panic", zap.String("request_id", requestID(c)), zap.Any("panic", rec))
		detail(c, 500, "Internal server error")
	})
}

// Verifier checks bearer tokens.
type Verifier interface {
	Verify(ctx context.Context, raw string) (auth.Principal, error)
}

// authenticate requires a valid bearer token and stores its principal.
func authenticate(v Verifier) gin.HandlerFunc {
	return func(c *gin.Context) {
		raw, ok := bearer(c.GetHeader("Authorization"))
		if !ok {
			fail(c, errNotAuthenticated)
			return
		}
		p, err := v.Verify(c.Request.Context(), raw)
		if err != nil {
			fail(c, err)
			return
		}
		c.Set(keyPrincipal, p)
		c.Next()
	}
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func principal(c *gin.Context) auth.Principal {
	p, _ := c.Get(keyPrincipal)
	pp, _ := p.(auth.Principal)
	return pp
}

// setTenant names the request's tenant for the access log. Unlike
// c.Set(keyTenant, …) it boxes nothing.
func setTenant(c *gin.Context, tenantID string) {
	if st := state(c); st != nil {
		st.tenant = tenantID
		return
	}
	c.Set(keyTenant, tenantID)
}

func requestID(c *gin.Context) string {
	if st := state(c); st != nil {
		return st.id
	}
	return ""
}

func logger(c *gin.Context) *zap.Logger {
	if st := state(c); st != nil && st.log != nil {
		return st.log
	}
	return zap.NewNop()
}
