package handlers

import (
	"context"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/metrics"
)

// Gin context keys.
const (
	keyRequestID = "sessiond.request_id"
	keyPrincipal = "sessiond.principal"
	keyTenant    = "sessiond.tenant"
	keyLogger    = "sessiond.logger"
)

// Request ids are random UUIDs; the pool batches the random reads, which
// would otherwise be a syscall on the hot path of every request.
func init() { uuid.EnableRandPool() }

// maxRequestIDLen bounds an echoed X-Request-ID.
const maxRequestIDLen = 128

// saneRequestID reports whether a caller's X-Request-ID may be echoed:
// 1..128 of [A-Za-z0-9._-].
func saneRequestID(s string) bool {
	if len(s) == 0 || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// requestContext assigns the request id, echoes it, and writes one access log
// line per request.
func requestContext(log *zap.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader("X-Request-ID")
		if !saneRequestID(id) {
			id = uuid.NewString()
		}
		c.Set(keyRequestID, id)
		c.Set(keyLogger, log)
		c.Header("X-Request-ID", id)
		c.Next()
		// Check first: a disabled level costs no field building.
		ce := log.Check(zap.InfoLevel, "request")
		if ce == nil {
			return
		}
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		fields := []zap.Field{
			zap.String("request_id", id), zap.String("method", c.Request.Method),
			zap.String("route", route), zap.Int("status", c.Writer.Status()),
			zap.Duration("latency", time.Since(start)),
		}
		if t := c.GetString(keyTenant); t != "" {
			fields = append(fields, zap.String("tenant_id", t))
		}
		ce.Write(fields...)
	}
}

// instrument records every request's route template, method, status and
// latency, and the requests in flight.
func instrument(m *metrics.Metrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		if m == nil {
			c.Next()
			return
		}
		start := time.Now()
		m.InFlight(1)
		defer m.InFlight(-1)
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.ObserveRequest(route, c.Request.Method, c.Writer.Status(), time.Since(start))
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

func requestID(c *gin.Context) string { return c.GetString(keyRequestID) }

func logger(c *gin.Context) *zap.Logger {
	if l, ok := c.Get(keyLogger); ok {
		if zl, ok := l.(*zap.Logger); ok {
			return zl
		}
	}
	return zap.NewNop()
}
