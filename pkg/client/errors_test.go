package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/client"
)

var sentinels = []struct {
	name string
	err  error
}{
	{"ErrUnauthorized", client.ErrUnauthorized},
	{"ErrForbidden", client.ErrForbidden},
	{"ErrNotFound", client.ErrNotFound},
	{"ErrConflict", client.ErrConflict},
	{"ErrValidation", client.ErrValidation},
	{"ErrUnavailable", client.ErrUnavailable},
}

// checkSentinel fails unless err matches want and no other sentinel.
func checkSentinel(tb testing.TB, err, want error) {
	tb.Helper()
	for _, s := range sentinels {
		if got := errors.Is(err, s.err); got != (s.err == want) {
			tb.Errorf("errors.Is(%v, %s) = %v, want %v", err, s.name, got, !got)
		}
	}
}

func TestTypedErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tenant := uniq("t")
	s := e.mustCreate(t, client.CreateSessionRequest{ID: "dup-1", UserID: "u", TenantID: tenant})
	user := e.admin.As(userToken(t, s, tenant))
	expired := e.admin.As(mint(t, auth.MintOptions{Subject: "root", Role: auth.RoleSuperAdmin, TTL: -time.Hour}))
	otherTenantAdmin := e.admin.As(mint(t, auth.MintOptions{Subject: "ta", Role: auth.RoleTenantAdmin, TenantID: "elsewhere"}))

	tests := []struct {
		name       string
		call       func() error
		want       error
		wantStatus int
		wantDetail string
		wantFields [][]any // locs of a 422
	}{
		{name: "401 without token", want: client.ErrUnauthorized, wantStatus: 401, wantDetail: "Not authenticated",
			call: func() error { _, err := e.anon.ListSessions(ctx, client.AdminFilter{}, client.Page{}); return err }},
		{name: "401 expired token", want: client.ErrUnauthorized, wantStatus: 401, wantDetail: "Invalid token: token expired",
			call: func() error { _, err := expired.GetSession(ctx, s.ID); return err }},
		{name: "403 user on admin", want: client.ErrForbidden, wantStatus: 403, wantDetail: "Forbidden",
			call: func() error { _, err := user.ListSessions(ctx, client.AdminFilter{}, client.Page{}); return err }},
		{name: "403 service on me", want: client.ErrForbidden, wantStatus: 403, wantDetail: "Forbidden",
			call: func() error { _, err := e.service.MySessions(ctx); return err }},
		{name: "403 tenant admin of another tenant", want: client.ErrForbidden, wantStatus: 403, wantDetail: "Forbidden",
			call: func() error { _, err := otherTenantAdmin.TenantStats(ctx, tenant); return err }},
		{name: "404 missing session", want: client.ErrNotFound, wantStatus: 404, wantDetail: "Not Found",
			call: func() error { _, err := e.admin.GetSession(ctx, "nope"); return err }},
		{name: "404 revoke missing", want: client.ErrNotFound, wantStatus: 404, wantDetail: "Not Found",
			call: func() error { return e.admin.RevokeSession(ctx, "nope") }},
		{name: "404 activity of missing", want: client.ErrNotFound, wantStatus: 404, wantDetail: "Not Found",
			call: func() error { return e.service.RecordActivity(ctx, "nope", client.Activity{}) }},
		{name: "409 duplicate id", want: client.ErrConflict, wantStatus: 409, wantDetail: "Session already exists",
			call: func() error {
				_, err := e.service.CreateSession(ctx, client.CreateSessionRequest{ID: "dup-1", UserID: "u", TenantID: tenant, TTL: time.Hour})
				return err
			}},
		{name: "422 per_page", want: client.ErrValidation, wantStatus: 422,
			wantDetail: "Input should be less than or equal to 100", wantFields: [][]any{{"query", "per_page"}},
			call: func() error {
				_, err := e.admin.ListSessions(ctx, client.AdminFilter{}, client.Page{PerPage: 1000})
				return err
			}},
		{name: "422 two problems", want: client.ErrValidation, wantStatus: 422,
			wantDetail: "Input should be greater than or equal to 1", wantFields: [][]any{{"query", "page"}, {"query", "per_page"}},
			call: func() error {
				_, err := e.admin.ListSessions(ctx, client.AdminFilter{}, client.Page{Page: -1, PerPage: -1})
				return err
			}},
		{name: "422 empty revoke-all", want: client.ErrValidation, wantStatus: 422, wantFields: [][]any{{"body"}},
			wantDetail: "Value error, at least one of user_id, tenant_id or partner_id is required",
			call:       func() error { _, err := e.admin.RevokeAll(ctx, client.AdminRevokeAll{}); return err }},
		{name: "422 bad session id", want: client.ErrValidation, wantStatus: 422, wantFields: [][]any{{"path", "session_id"}},
			wantDetail: "String should match the identifier pattern",
			call:       func() error { _, err := e.admin.GetSession(ctx, "a b"); return err }},
		{name: "422 neither ids nor revoke_all", want: client.ErrValidation, wantStatus: 422, wantFields: [][]any{{"body", "session_ids"}},
			wantDetail: "Value error, session_ids must be a non-empty list unless revoke_all is true",
			call: func() error {
				_, err := e.admin.RevokeUserSessions(ctx, tenant, "u", client.SessionRevokeRequest{})
				return err
			}},
		{name: "422 no expiry", want: client.ErrValidation, wantStatus: 422, wantFields: [][]any{{"body", "expires_at"}},
			wantDetail: "Field required: expires_at or ttl_seconds",
			call: func() error {
				_, err := e.service.CreateSession(ctx, client.CreateSessionRequest{UserID: "u", TenantID: tenant})
				return err
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			checkSentinel(t, err, tc.want)
			var ce *client.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %T %v, want *client.Error", err, err)
			}
			if ce.Status != tc.wantStatus || ce.Detail != tc.wantDetail {
				t.Errorf("got %d %q, want %d %q", ce.Status, ce.Detail, tc.wantStatus, tc.wantDetail)
			}
			if ce.RequestID == "" {
				t.Errorf("got no request id, want the X-Request-ID the server answered")
			}
			if len(ce.Fields) != len(tc.wantFields) {
				t.Fatalf("got fields %+v, want locs %v", ce.Fields, tc.wantFields)
			}
			for i, f := range ce.Fields {
				if len(f.Loc) != len(tc.wantFields[i]) || f.Msg == "" || f.Type == "" {
					t.Errorf("field %d: got %+v, want loc %v with msg and type", i, f, tc.wantFields[i])
					continue
				}
				for j := range f.Loc {
					if f.Loc[j] != tc.wantFields[i][j] {
						t.Errorf("field %d: got loc %v, want %v", i, f.Loc, tc.wantFields[i])
					}
				}
			}
		})
	}
}

func TestClientSideValidation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	before := e.counter.all.Load()
	calls := map[string]func() error{
		"GetSession empty":       func() error { _, err := e.admin.GetSession(ctx, ""); return err },
		"RevokeSession dot-dot":  func() error { return e.admin.RevokeSession(ctx, "..") },
		"TenantStats empty":      func() error { _, err := e.admin.TenantStats(ctx, ""); return err },
		"TenantUserSessions dot": func() error { _, err := e.admin.TenantUserSessions(ctx, "t", ".", client.Page{}); return err },
		"RecordActivity empty":   func() error { return e.service.RecordActivity(ctx, "", client.Activity{}) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			checkSentinel(t, err, client.ErrValidation)
			var ce *client.Error
			if errors.As(err, &ce) {
				t.Errorf("got *client.Error %v, want a client-side error", ce)
			}
		})
	}
	if got := e.counter.all.Load() - before; got != 0 {
		t.Errorf("got %d requests, want none for path segments the client refuses", got)
	}
}

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	ctx := client.WithRequestID(context.Background(), "trace-42")
	_, err := e.admin.GetSession(ctx, "nope")
	var ce *client.Error
	if !errors.As(err, &ce) || ce.RequestID != "trace-42" {
		t.Fatalf("got %v, want an *Error with request id trace-42", err)
	}
	if want := "sessiond: 404 Not Found: Not Found (request id trace-42)"; ce.Error() != want {
		t.Errorf("got message %q, want %q", ce.Error(), want)
	}
}

// TestUnavailable: Redis down answers 503; nobody listening is a transport
// failure; both match ErrUnavailable.
func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	t.Run("redis down", func(t *testing.T) {
		e, dedicated := newEnvOnOwnRedis(t)
		if _, err := e.admin.ListSessions(ctx, client.AdminFilter{}, client.Page{}); err != nil {
			t.Fatalf("ListSessions with Redis up: %v", err)
		}
		if err := dedicated.Stop(); err != nil {
			t.Fatal(err)
		}
		_, err := e.admin.ListSessions(ctx, client.AdminFilter{}, client.Page{})
		checkSentinel(t, err, client.ErrUnavailable)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable || ce.Detail != "Session store unavailable" {
			t.Errorf("got %v, want a 503 *Error \"Session store unavailable\"", err)
		}
	})
	t.Run("closed port", func(t *testing.T) {
		c := mustClient(t, testserver.ClosedURL(t), client.WithToken("x"))
		_, err := c.ListSessions(ctx, client.AdminFilter{}, client.Page{})
		checkSentinel(t, err, client.ErrUnavailable)
		var ce *client.Error
		if errors.As(err, &ce) {
			t.Errorf("got *client.Error %v, want a transport error", ce)
		}
	})
	t.Run("proxy 502 with HTML", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>bad gateway</html>"))
		}))
		t.Cleanup(srv.Close)
		_, err := mustClient(t, srv.URL).TenantStats(ctx, "t")
		checkSentinel(t, err, client.ErrUnavailable)
	})
	t.Run("cancelled context", func(t *testing.T) {
		e := newEnv(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := e.admin.ListSessions(cctx, client.AdminFilter{}, client.Page{})
		if !errors.Is(err, context.Canceled) || errors.Is(err, client.ErrUnavailable) {
			t.Errorf("got %v, want context.Canceled and not ErrUnavailable", err)
		}
	})
}

func TestResponseTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":"`))
		chunk := make([]byte, 64<<10)
		for i := range chunk {
			chunk[i] = 'a'
		}
		for range client.MaxResponseBytes/len(chunk) + 2 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		_, _ = w.Write([]byte(`"}`))
	}))
	t.Cleanup(srv.Close)
	_, err := mustClient(t, srv.URL).TenantStats(context.Background(), "t")
	if err == nil {
		t.Fatalf("got no error for a body over MaxResponseBytes, want one")
	}
}
