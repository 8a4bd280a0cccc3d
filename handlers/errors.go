// Package handlers is sessiond's HTTP layer: Gin routes, request and response
// shapes, conversion from and to the domain, and the one place that maps
// errors to HTTP statuses. Handlers bind, check reach, call the store and
// respond; they know nothing of Redis or JWT internals.
package handlers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/receiver"
	"github.com/sessiond/sessiond/pkg/session"
)

// FieldError is one entry of a FastAPI-shaped 422 response.
type FieldError struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// ValidationError collects every problem of one request's input.
type ValidationError []FieldError

func (v ValidationError) Error() string {
	if len(v) == 0 {
		return "validation error"
	}
	return "validation error: " + v[0].Msg
}

// add records a problem at loc (e.g. "query", "per_page").
func (v *ValidationError) add(typ, msg string, loc ...any) {
	*v = append(*v, FieldError{Loc: loc, Msg: msg, Type: typ})
}

// err returns v as an error, or nil when nothing was recorded.
func (v ValidationError) err() error {
	if len(v) == 0 {
		return nil
	}
	return v
}

// Errors the HTTP layer itself raises.
var (
	errNotAuthenticated = errors.New("Not authenticated")
	errTooLarge         = errors.New("Request body too large")
	errNotFound         = errors.New("Not Found")
	errNoMethod         = errors.New("Method Not Allowed")
	errBadBody          = errors.New("Malformed request body")
)

// fail writes the response for err and logs it when it is the server's fault.
// It is the only place where errors become HTTP statuses.
func fail(c *gin.Context, err error) {
	var verr ValidationError
	switch {
	case errors.As(err, &verr):
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, gin.H{"detail": verr})
	case errors.Is(err, errNotAuthenticated):
		c.Header("WWW-Authenticate", "Bearer")
		detail(c, http.StatusUnauthorized, "Not authenticated")
	case errors.Is(err, auth.ErrInvalidToken):
		c.Header("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+reason(err)+`"`)
		detail(c, http.StatusUnauthorized, "Invalid token: "+reason(err))
	case errors.Is(err, auth.ErrForbidden):
		detail(c, http.StatusForbidden, "Forbidden")
	case errors.Is(err, session.ErrNotFound), errors.Is(err, errNotFound):
		detail(c, http.StatusNotFound, "Not Found")
	case errors.Is(err, errNoMethod):
		detail(c, http.StatusMethodNotAllowed, "Method Not Allowed")
	case errors.Is(err, session.ErrConflict):
		detail(c, http.StatusConflict, "Session already exists")
	case errors.Is(err, session.ErrPartnerMismatch):
		detail(c, http.StatusConflict, "Tenant belongs to another partner")
	case errors.Is(err, session.ErrSessionLimit):
		detail(c, http.StatusConflict, "session limit reached")
	case errors.Is(err, receiver.ErrTooMany):
		detail(c, http.StatusConflict, "Too many receivers in the tenant")
	case errors.Is(err, errBadBody):
		// The client's fault: the access log line says 400; nothing at error level.
		logger(c).Info("malformed request body", zap.String("request_id", requestID(c)),
			zap.String("route", c.FullPath()), zap.Error(err))
		detail(c, http.StatusBadRequest, "Malformed request body")
	case errors.Is(err, errTooLarge):
		c.Header("Connection", "close")
		detail(c, http.StatusRequestEntityTooLarge, "Request body too large")
		lingerBody(c)
	case errors.Is(err, session.ErrStoreFull):
		storeFull(c, err)
	case errors.Is(err, session.ErrUnavailable):
		logError(c, err)
		detail(c, http.StatusServiceUnavailable, "Session store unavailable")
	case errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		c.AbortWithStatus(499)
	default:
		logError(c, err)
		detail(c, http.StatusInternalServerError, "Internal server error")
	}
}

// reason is the short, token-free reason the verifier gave.
func reason(err error) string {
	msg := err.Error()
	prefix := auth.ErrInvalidToken.Error() + ": "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix):]
	}
	return "invalid token"
}

func detail(c *gin.Context, status int, msg string) {
	c.AbortWithStatusJSON(status, gin.H{"detail": msg})
}

// logError logs a server-side failure once, with the request id.
func logError(c *gin.Context, err error) {
	_ = c.Error(err)
	logger(c).Error("request failed", zap.String("request_id", requestID(c)),
		zap.String("route", c.FullPath()), zap.Error(err))
}

// Lingering close: a client that writes its whole body before it reads the
// answer (Python's urllib with Connection: close) would otherwise see the
// connection reset while it still writes, and never read the 413. After
// answering, up to lingerBytes more of the body are read and dropped, for at
// most lingerTime, as nginx does; the connection then closes.
const (
	lingerBytes = 8 << 20
	lingerTime  = 2 * time.Second
)

func lingerBody(c *gin.Context) {
	rc := http.NewResponseController(c.Writer)
	if err := rc.Flush(); err != nil {
		return
	}
	_ = rc.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, c.Request.Body, lingerBytes)
}
