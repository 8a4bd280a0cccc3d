package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinels for errors.Is. An *Error matches the one of its status; a
// transport failure matches ErrUnavailable; a path parameter the client
// refuses to send (empty, "." or "..") matches ErrValidation.
var (
	// ErrUnauthorized: 401, the token is missing, invalid or its session is
	// gone. Error.Reason says why when the server said so.
	ErrUnauthorized = errors.New("client: unauthorized")
	// ErrForbidden: 403, the token may not use the endpoint.
	ErrForbidden = errors.New("client: forbidden")
	// ErrNotFound: 404, the session does not exist or is out of the caller's reach.
	ErrNotFound = errors.New("client: not found")
	// ErrConflict: 409, the session id exists already, or the tenant belongs
	// to another partner.
	ErrConflict = errors.New("client: conflict")
	// ErrValidation: 422, the request was malformed; Error.Fields lists why.
	ErrValidation = errors.New("client: validation failed")
	// ErrUnavailable: 502, 503 or 504, or the server could not be reached.
	ErrUnavailable = errors.New("client: sessiond unavailable")
)

// FieldError is one entry of a 422 answer (FastAPI's ValidationError).
type FieldError struct {
	// Loc is where the problem is, e.g. ["query", "per_page"]; its entries
	// are strings or (for array indexes) float64 numbers.
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// Error is a non-2xx answer of sessiond.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Detail is the server's {"detail": "..."} message; for a 422 it is the
	// first field error's message and Fields holds them all.
	Detail string
	// Fields lists the problems of a 422 answer.
	Fields []FieldError
	// Reason is the error_description of a 401's WWW-Authenticate header
	// (for example "session revoked or expired"), "" when it had none.
	Reason string
	// RequestID is the X-Request-ID sessiond answered with, for its logs.
	RequestID string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sessiond: %d %s", e.Status, http.StatusText(e.Status))
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if len(e.Fields) > 1 {
		fmt.Fprintf(&b, " (and %d more)", len(e.Fields)-1)
	}
	if e.RequestID != "" {
		b.WriteString(" (request id ")
		b.WriteString(e.RequestID)
		b.WriteString(")")
	}
	return b.String()
}

// Is matches the sentinel of e's status.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrValidation:
		return e.Status == http.StatusUnprocessableEntity
	case ErrUnavailable:
		return e.Status == http.StatusBadGateway || e.Status == http.StatusServiceUnavailable ||
			e.Status == http.StatusGatewayTimeout
	}
	return false
}

// responseError builds the *Error of a non-2xx response. A body that is not
// sessiond's JSON (a proxy's HTML page) leaves Detail at the status text.
func responseError(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-ID")}
	if resp.StatusCode == http.StatusUnauthorized {
		e.Reason = challengeParam(resp.Header.Get("WWW-Authenticate"), "error_description")
	}
	raw, _ := readBody(resp)
	var body struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(raw, &body) == nil && len(body.Detail) > 0 {
		var s string
		if json.Unmarshal(body.Detail, &s) == nil {
			e.Detail = s
		} else if json.Unmarshal(body.Detail, &e.Fields) == nil && len(e.Fields) > 0 {
			e.Detail = e.Fields[0].Msg
		}
	}
	if e.Detail == "" {
		e.Detail = e.Reason
	}
	return e
}

// challengeParam returns the value of param in a WWW-Authenticate challenge
// such as `Bearer error="invalid_token", error_description="token expired"`.
func challengeParam(h, param string) string {
	_, rest, ok := strings.Cut(h, " ")
	if !ok {
		return ""
	}
	for rest != "" {
		rest = strings.TrimLeft(rest, " ,")
		name, after, ok := strings.Cut(rest, "=")
		if !ok {
			return ""
		}
		name = strings.TrimSpace(name)
		var val string
		if strings.HasPrefix(after, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(after) && after[i] != '"'; i++ {
				if after[i] == '\\' && i+1 < len(after) {
					i++
				}
				b.WriteByte(after[i])
			}
			val, rest = b.String(), after[min(i+1, len(after)):]
		} else {
			val, rest, _ = strings.Cut(after, ",")
			val = strings.TrimSpace(val)
		}
		if strings.EqualFold(name, param) {
			return val
		}
	}
	return ""
}
