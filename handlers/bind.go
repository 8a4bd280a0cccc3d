package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/session"
)

// maxBody bounds every request body.
const maxBody = 1 << 20

// Query and path parameters. Each parser records its problem in v and returns
// the zero value, so that one response lists every bad input.

func queryInt(c *gin.Context, v *ValidationError, name string, def, lo, hi int) int {
	raw, ok := c.GetQuery(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	switch {
	case err != nil:
		v.add("int_parsing", "Input should be a valid integer, unable to parse string as an integer", "query", name)
	case n < lo:
		v.add("greater_than_equal", "Input should be greater than or equal to "+strconv.Itoa(lo), "query", name)
	case n > hi:
		v.add("less_than_equal", "Input should be less than or equal to "+strconv.Itoa(hi), "query", name)
	default:
		return n
	}
	return def
}

func queryBool(c *gin.Context, v *ValidationError, name string, def bool) bool {
	raw, ok := c.GetQuery(name)
	if !ok {
		return def
	}
	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "true", "1", "yes", "on", "t", "y":
		return true
	case "false", "0", "no", "off", "f", "n":
		return false
	}
	v.add("bool_parsing", "Input should be a valid boolean, unable to interpret input", "query", name)
	return def
}

// queryID reads an optional identifier; valid checks its syntax.
func queryID(c *gin.Context, v *ValidationError, name string, valid func(string) bool) string {
	raw, ok := c.GetQuery(name)
	if !ok || raw == "" {
		return ""
	}
	if !valid(raw) {
		v.add("string_pattern_mismatch", "String should match the identifier pattern", "query", name)
		return ""
	}
	return raw
}

// refuseDotSegments answers 404 for a path with a segment made only of dots
// ("/api/v1/tenants/../sessions"): no id is one (session.OnlyDots), and a
// normalising client or proxy would have sent the request elsewhere.
func refuseDotSegments(c *gin.Context) {
	for _, seg := range strings.Split(c.Request.URL.Path, "/") {
		if session.OnlyDots(seg) {
			fail(c, errNotFound)
			return
		}
	}
}

func pathID(c *gin.Context, v *ValidationError, name string, valid func(string) bool) string {
	raw := c.Param(name)
	if !valid(raw) {
		v.add("string_pattern_mismatch", "String should match the identifier pattern", "path", name)
		return ""
	}
	return raw
}

// body is a decoded JSON object whose fields are read one by one, so that a
// wrong type is reported at its exact location.
type body struct {
	fields map[string]json.RawMessage
	v      *ValidationError
}

// allowedBody checks the caller with allow, then reads a JSON object body
// as readBody does; ok is false when it has answered already.
func allowedBody(c *gin.Context, allow func(auth.Principal) error, v *ValidationError) (auth.Principal, body, bool) {
	p := principal(c)
	if err := allow(p); err != nil {
		fail(c, err)
		return p, body{}, false
	}
	b, err := readBody(c, v, true)
	if err != nil {
		fail(c, err)
		return p, b, false
	}
	return p, b, true
}

// readFields reads a required JSON object body that may hold only the
// given fields (any other is a validation error in v); ok is false when it
// has answered already (a body too large or not an object).
func readFields(c *gin.Context, v *ValidationError, fields ...string) (body, bool) {
	b, err := readBody(c, v, true)
	if err != nil {
		fail(c, err)
		return b, false
	}
	b.only(fields...)
	return b, true
}

// readBody reads and decodes a JSON object body of at most maxBody bytes.
// An empty body is an empty object unless required. Malformed JSON ends the
// request at once: its error is returned with what v held already.
func readBody(c *gin.Context, v *ValidationError, required bool) (body, error) {
	b := body{fields: map[string]json.RawMessage{}, v: v}
	if c.Request.ContentLength > maxBody {
		return b, errTooLarge
	}
	raw, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return b, errTooLarge
	}
	if err != nil {
		// Broken framing (a bad chunk size, a body shorter than its
		// Content-Length): the client's fault.
		return b, fmt.Errorf("%w: %w", errBadBody, err)
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		if required {
			v.add("missing", "Field required", "body")
		}
		return b, nil
	}
	var syn *json.SyntaxError
	switch err := json.Unmarshal(raw, &b.fields); {
	case errors.As(err, &syn):
		// FastAPI reports the character position of the error, and nothing
		// about fields it could not read.
		v.add("json_invalid", "JSON decode error", "body", syn.Offset)
		return b, *v
	case err != nil || raw[0] != '{':
		v.add("model_attributes_type", "Input should be a valid dictionary or object to extract fields from", "body")
		return b, nil
	}
	if loc, err := strictJSON(raw); err != nil {
		v.add("value_error", "Value error, "+err.Error(), append([]any{"body"}, loc...)...)
		return b, *v
	}
	return b, nil
}

func (b body) present(name string) (json.RawMessage, bool) {
	raw, ok := b.fields[name]
	if !ok || string(raw) == "null" {
		return nil, false
	}
	return raw, true
}

// str reads an optional string field of at most maxLen bytes; "" when absent or null.
func (b body) str(name string, maxLen int) string {
	raw, ok := b.present(name)
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		b.v.add("string_type", "Input should be a valid string", "body", name)
		return ""
	}
	if len(s) > maxLen {
		b.v.add("string_too_long", "String should have at most "+strconv.Itoa(maxLen)+" characters", "body", name)
		return ""
	}
	return s
}

// id reads an identifier field; required ones report "missing".
func (b body) id(name string, required bool, valid func(string) bool) string {
	raw, ok := b.present(name)
	if !ok {
		if required {
			b.v.add("missing", "Field required", "body", name)
		}
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		b.v.add("string_type", "Input should be a valid string", "body", name)
		return ""
	}
	if !valid(s) {
		b.v.add("string_pattern_mismatch", "String should match the identifier pattern", "body", name)
		return ""
	}
	return s
}

func (b body) boolean(name string, def bool) bool {
	raw, ok := b.present(name)
	if !ok {
		return def
	}
	var x bool
	if json.Unmarshal(raw, &x) != nil {
		b.v.add("bool_type", "Input should be a valid boolean", "body", name)
		return def
	}
	return x
}

// integer reads an optional integer field; ok is false when absent or bad.
func (b body) integer(name string) (int64, bool) {
	raw, present := b.present(name)
	if !present {
		return 0, false
	}
	var x int64
	if json.Unmarshal(raw, &x) != nil {
		b.v.add("int_type", "Input should be a valid integer", "body", name)
		return 0, false
	}
	return x, true
}

// ids reads an optional list of identifiers of at most maxItems entries.
func (b body) ids(name string, maxItems int, valid func(string) bool) ([]string, bool) {
	raw, ok := b.present(name)
	if !ok {
		return nil, false
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		b.v.add("list_type", "Input should be a valid list", "body", name)
		return nil, true
	}
	if len(list) > maxItems {
		b.v.add("too_long", "List should have at most "+strconv.Itoa(maxItems)+" items", "body", name)
		return nil, true
	}
	out := make([]string, 0, len(list))
	for i, item := range list {
		var s string
		if json.Unmarshal(item, &s) != nil {
			b.v.add("string_type", "Input should be a valid string", "body", name, i)
			continue
		}
		if !valid(s) {
			b.v.add("string_pattern_mismatch", "String should match the identifier pattern", "body", name, i)
			continue
		}
		out = append(out, s)
	}
	return out, true
}
