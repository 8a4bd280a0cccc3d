package handlers_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// response is what the router answered.
type response struct {
	Code   int
	Header http.Header
	Body   []byte
}

// req describes one request: Body is sent raw when a string or []byte and as
// JSON otherwise; nil sends no body.
type req struct {
	Method, Path, Token string
	Body                any
	Header              map[string]string
}

// do serves r through the router.
func (e *env) do(tb testing.TB, r req) response {
	tb.Helper()
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	case io.Reader:
		body = b // of unknown length, as a chunked request
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			tb.Fatalf("marshal request body: %v", err)
		}
		body = bytes.NewReader(raw)
	}
	hr := httptest.NewRequest(r.Method, r.Path, body)
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, hr)
	return response{Code: w.Code, Header: w.Result().Header, Body: w.Body.Bytes()}
}

// get, post and del are do for the common cases.
func (e *env) get(tb testing.TB, path, token string) response {
	tb.Helper()
	return e.do(tb, req{Method: http.MethodGet, Path: path, Token: token})
}

func (e *env) post(tb testing.TB, path, token string, body any) response {
	tb.Helper()
	return e.do(tb, req{Method: http.MethodPost, Path: path, Token: token, Body: body})
}

func (e *env) del(tb testing.TB, path, token string) response {
	tb.Helper()
	return e.do(tb, req{Method: http.MethodDelete, Path: path, Token: token})
}

// mustStatus fails the test unless r has status want.
func mustStatus(tb testing.TB, r response, want int) {
	tb.Helper()
	if r.Code != want {
		tb.Fatalf("status: got %d, want %d; body: %s", r.Code, want, r.Body)
	}
}

// mustDecode decodes r's JSON body into a T.
func mustDecode[T any](tb testing.TB, r response) T {
	tb.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("decode body %q: %v", r.Body, err)
	}
	return v
}

// Response shapes, as a client decodes them. Pointers are the nullable fields.
type (
	metaJSON struct {
		RequestID string `json:"request_id"`
		Timestamp string `json:"timestamp"`
	}
	pageJSON struct {
		Page       int `json:"page"`
		PerPage    int `json:"per_page"`
		TotalItems int `json:"total_items"`
		TotalPages int `json:"total_pages"`
	}
	envelope[T any] struct {
		Data       T         `json:"data"`
		Pagination *pageJSON `json:"pagination"`
		Meta       metaJSON  `json:"meta"`
	}
	appJSON struct {
		ApplicationID   string `json:"application_id"`
		ApplicationName string `json:"application_name"`
		AccessedAt      string `json:"accessed_at"`
	}
	sessionJSON struct {
		ID              string    `json:"id"`
		UserID          string    `json:"user_id"`
		UserEmail       *string   `json:"user_email"`
		UserDisplayName *string   `json:"user_display_name"`
		IPAddress       *string   `json:"ip_address"`
		UserAgent       *string   `json:"user_agent"`
		DeviceType      *string   `json:"device_type"`
		Location        *string   `json:"location"`
		IsCurrent       bool      `json:"is_current"`
		CreatedAt       string    `json:"created_at"`
		LastActivityAt  *string   `json:"last_activity_at"`
		ExpiresAt       string    `json:"expires_at"`
		SSOApps         []appJSON `json:"sso_apps"`
		EndingJSON
	}
	// EndingJSON is the history extension of a session.
	EndingJSON struct {
		Status       string `json:"status"`
		EndedAt      string `json:"ended_at"`
		RevokedBy    string `json:"revoked_by"`
		RevokeReason string `json:"revoke_reason"`
	}
	auditJSON struct {
		ID           string   `json:"id"`
		At           string   `json:"at"`
		Actor        string   `json:"actor"`
		ActorRole    string   `json:"actor_role"`
		Reason       string   `json:"reason"`
		Target       string   `json:"target"`
		RevokedCount int      `json:"revoked_count"`
		SessionIDs   []string `json:"session_ids"`
	}
	listItemJSON struct {
		ID             string  `json:"id"`
		UserID         string  `json:"user_id"`
		UserEmail      *string `json:"user_email"`
		IPAddress      *string `json:"ip_address"`
		UserAgent      *string `json:"user_agent"`
		DeviceType     *string `json:"device_type"`
		IsCurrent      bool    `json:"is_current"`
		CreatedAt      string  `json:"created_at"`
		LastActivityAt *string `json:"last_activity_at"`
		ExpiresAt      string  `json:"expires_at"`
		AppCount       int     `json:"app_count"`
		EndingJSON
	}
	revokeJSON struct {
		RevokedCount int      `json:"revoked_count"`
		SessionIDs   []string `json:"session_ids"`
	}
	fieldErrorJSON struct {
		Loc  []any  `json:"loc"`
		Msg  string `json:"msg"`
		Type string `json:"type"`
	}
)

func ptr(s string) *string { return &s }

// ids lists the ids of list items, in order.
func ids(items []listItemJSON) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

// wireTimeRE is RFC 3339 UTC with milliseconds: 2026-01-02T03:04:05.678Z.
var wireTimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

func mustWireTime(tb testing.TB, name, s string) {
	tb.Helper()
	if !wireTimeRE.MatchString(s) {
		tb.Errorf("%s: got %q, want RFC 3339 UTC with milliseconds like 2026-01-02T03:04:05.678Z", name, s)
	}
}

// mustDetail checks an error answer {"detail": "..."}: its status, and that
// detail is a non-empty string.
func mustDetail(tb testing.TB, r response, status int) string {
	tb.Helper()
	mustStatus(tb, r, status)
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		tb.Fatalf("decode error body %q: %v", r.Body, err)
	}
	d, ok := body["detail"].(string)
	if !ok || d == "" || len(body) != 1 {
		tb.Fatalf("error body: got %s, want {\"detail\": \"…\"}", r.Body)
	}
	return d
}

// mustValidation checks a FastAPI-shaped 422 and returns its entries.
func mustValidation(tb testing.TB, r response) []fieldErrorJSON {
	tb.Helper()
	mustStatus(tb, r, http.StatusUnprocessableEntity)
	var body struct {
		Detail []fieldErrorJSON `json:"detail"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || len(body.Detail) == 0 {
		tb.Fatalf("422 body: got %s, want {\"detail\":[{\"loc\":[…],\"msg\":\"…\",\"type\":\"…\"}]} (%v)", r.Body, err)
	}
	for _, d := range body.Detail {
		if d.Msg == "" || d.Type == "" || len(d.Loc) == 0 {
			tb.Errorf("422 entry %+v: want non-empty loc, msg and type", d)
		}
	}
	return body.Detail
}

// mustValidationAt checks a 422 that has an entry at loc of type typ ("" =
// any type).
func mustValidationAt(tb testing.TB, r response, typ string, loc ...any) {
	tb.Helper()
	got := mustValidation(tb, r)
	want := normLoc(loc)
	for _, d := range got {
		if cmp.Equal(normLoc(d.Loc), want) && (typ == "" || d.Type == typ) {
			return
		}
	}
	tb.Errorf("422 detail: got %s, want an entry with loc %v and type %q", r.Body, loc, typ)
}

// normLoc turns JSON numbers and Go ints into float64, so locs compare.
func normLoc(loc []any) []any {
	out := make([]any, len(loc))
	for i, l := range loc {
		switch n := l.(type) {
		case int:
			out[i] = float64(n)
		case json.Number:
			f, _ := n.Float64()
			out[i] = f
		default:
			out[i] = l
		}
	}
	return out
}

// wt formats t as the wire does.
func wt(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// mustBody compares r's whole JSON body with want, after checking that
// meta.timestamp and data.generated_at (when present) are wire times and
// replacing them by "<ts>".
func mustBody(tb testing.TB, r response, want string) {
	tb.Helper()
	var got, w any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		tb.Fatalf("decode body %q: %v", r.Body, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		tb.Fatalf("decode wanted body %q: %v", want, err)
	}
	if m, ok := got.(map[string]any); ok {
		if meta, ok := m["meta"].(map[string]any); ok {
			ts, _ := meta["timestamp"].(string)
			mustWireTime(tb, "meta.timestamp", ts)
			meta["timestamp"] = "<ts>"
		}
		if data, ok := m["data"].(map[string]any); ok {
			if ts, ok := data["generated_at"].(string); ok {
				mustWireTime(tb, "data.generated_at", ts)
				data["generated_at"] = "<ts>"
			}
		}
	}
	if diff := cmp.Diff(w, got); diff != "" {
		tb.Errorf("body (-want +got):\n%s\ngot: %s", diff, r.Body)
	}
}

type statsJSON struct {
	TenantID               string         `json:"tenant_id"`
	ActiveSessions         int            `json:"active_sessions"`
	ActiveUsers            int            `json:"active_users"`
	SessionsByDeviceType   map[string]int `json:"sessions_by_device_type"`
	SessionsCreatedLast24h int            `json:"sessions_created_last_24h"`
	SessionsRevokedLast24h int            `json:"sessions_revoked_last_24h"`
	GeneratedAt            string         `json:"generated_at"`
}
