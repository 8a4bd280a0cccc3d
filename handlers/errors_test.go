package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/session"
	"github.com/sessiond/sessiond/redisstore"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// failingStore is a real store whose List fails the way fail says.
type failingStore struct {
	session.Store
	fail func() error
}

func (s failingStore) List(ctx context.Context, f session.Filter, p session.Page) (session.PageResult, error) {
	if err := s.fail(); err != nil {
		return session.PageResult{}, err
	}
	return s.Store.List(ctx, f, p)
}

// TestServerErrors checks that failures of the store answer without
// internals, and that every 5xx is logged with the request id.
func TestServerErrors(t *testing.T) {
	cases := []struct {
		name   string
		fail   func() error
		status int
		detail string
		logMsg string
	}{
		{"unexpected error", func() error { return errors.New("redisstore: list: WRONGTYPE secret-key-name") },
			http.StatusInternalServerError, "Internal server error", "request failed"},
		{"panic", func() error { panic("secret-key-name") },
			http.StatusInternalServerError, "Internal server error", "panic"},
		{"unavailable", func() error { return fmt.Errorf("redisstore: list: %w: dial secret-key-name", session.ErrUnavailable) },
			http.StatusServiceUnavailable, "Session store unavailable", "request failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zap.InfoLevel)
			e := newEnvWith(t, backends[0].client(t), envConfig{
				log:  zap.New(core),
				wrap: func(s session.Store) session.Store { return failingStore{Store: s, fail: tc.fail} },
			})
			r := e.do(t, req{Method: "GET", Path: pathAdmin, Token: e.token(t, superAdmin), Header: map[string]string{"X-Request-ID": "err-1"}})
			if got := mustDetail(t, r, tc.status); got != tc.detail {
				t.Errorf("detail: got %q, want %q", got, tc.detail)
			}
			if strings.Contains(string(r.Body), "secret") {
				t.Errorf("body: got %s, want no internals", r.Body)
			}
			if got := r.Header.Get("X-Request-ID"); got != "err-1" {
				t.Errorf("X-Request-ID: got %q, want err-1", got)
			}
			errs := logs.FilterMessage(tc.logMsg).FilterField(zap.String("request_id", "err-1")).All()
			if len(errs) != 1 || errs[0].Level != zap.ErrorLevel {
				t.Errorf("error logs with the request id: got %v, want one %q at error level", errs, tc.logMsg)
			}
			access := logs.FilterMessage("request").FilterField(zap.Int("status", tc.status)).FilterField(zap.String("request_id", "err-1")).Len()
			if access != 1 {
				t.Errorf("access log lines with status %d: got %d, want 1", tc.status, access)
			}
		})
	}
}

// TestAccessLog checks the one line per request, that no token reaches the
// logs whatever the outcome, and that nothing of one request (its id, its
// tenant) carries over to the next: the per-request state is pooled.
func TestAccessLog(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	e := newEnvWith(t, backends[0].client(t), envConfig{log: zap.New(core)})
	e.seedWorld(t)
	logs.TakeAll()
	good := e.token(t, superAdmin)
	bad := good[:len(good)-4] + "AAAA"
	user := e.token(t, userU1)
	steps := []struct {
		name string
		req  req
		want map[string]any // fields besides latency; request_id "" = a new UUID
	}{
		{"admin get", req{Method: "GET", Path: pathAdmin + "/t1-u2", Token: good, Header: map[string]string{"X-Request-ID": "log-1"}},
			map[string]any{"request_id": "log-1", "method": "GET", "route": "/api/v1/admin/sessions/:session_id", "status": int64(200), "tenant_id": "T1"}},
		{"bad token", req{Method: "GET", Path: pathAdmin, Token: bad},
			map[string]any{"request_id": "", "method": "GET", "route": "/api/v1/admin/sessions", "status": int64(401)}},
		{"verify", req{Method: "GET", Path: pathVerify, Token: user, Header: map[string]string{"X-Request-ID": "log-2"}},
			map[string]any{"request_id": "log-2", "method": "GET", "route": pathVerify, "status": int64(200), "tenant_id": "T1"}},
		{"health after verify", req{Method: "GET", Path: "/healthz"},
			map[string]any{"request_id": "", "method": "GET", "route": "/healthz", "status": int64(200)}},
		{"refused verify", req{Method: "GET", Path: pathVerify, Token: bad},
			map[string]any{"request_id": "", "method": "GET", "route": pathVerify, "status": int64(401)}},
	}
	for _, st := range steps {
		r := e.do(t, st.req)
		entries := logs.TakeAll()
		if len(entries) != 1 {
			t.Fatalf("%s: log lines: got %d (%v), want 1", st.name, len(entries), entries)
		}
		got := entries[0].ContextMap()
		if _, ok := got["latency"]; !ok {
			t.Errorf("%s: access log: no latency", st.name)
		}
		delete(got, "latency")
		want := maps.Clone(st.want)
		if want["request_id"] == "" {
			id, _ := got["request_id"].(string)
			if _, err := uuid.Parse(id); err != nil || id == "log-1" || id == "log-2" {
				t.Errorf("%s: request_id: got %q, want a new UUID", st.name, id)
			}
			want["request_id"] = id
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: access log fields: got %v, want %v and a latency", st.name, got, want)
		}
		if h := r.Header.Get("X-Request-ID"); h != got["request_id"] {
			t.Errorf("%s: X-Request-ID: got %q, want the logged %q", st.name, h, got["request_id"])
		}
		line := entries[0].Message + fmt.Sprint(entries[0].ContextMap())
		for _, tok := range []string{good, bad, user, strings.Split(good, ".")[1], strings.Split(user, ".")[1]} {
			if strings.Contains(line, tok) {
				t.Errorf("%s: log line %q contains a token", st.name, line)
			}
		}
	}
}

// TestRouterDefaults builds the router with a zero DeviceOf and MaxLifetime:
// creating a session must still work (device "unknown", the default 720h bound).
func TestRouterDefaults(t *testing.T) {
	e := newEnvWith(t, backends[0].client(t), envConfig{bare: true})
	tok := e.token(t, serviceWrite)
	r := e.post(t, pathInternal, tok, map[string]any{"user_id": "u1", "tenant_id": "T1", "ttl_seconds": 3600, "user_agent": "curl/8.5.0"})
	mustStatus(t, r, http.StatusCreated)
	if got := mustDecode[envelope[sessionJSON]](t, r).Data.DeviceType; got == nil || *got != "unknown" {
		t.Errorf("device_type: got %v, want unknown", got)
	}
	r = e.post(t, pathInternal, tok, map[string]any{"user_id": "u1", "tenant_id": "T1", "ttl_seconds": 721 * 3600})
	mustValidationAt(t, r, "less_than_equal", "body", "ttl_seconds")
}

// unavailableCases are requests that all need Redis; none may answer 500.
var unavailableCases = []struct {
	name, method, path string
	caller             auth.MintOptions
	body               any
}{
	{"admin list", "GET", pathAdmin, superAdmin, nil},
	{"admin list by user", "GET", pathAdmin + "?user_id=u1", superAdmin, nil},
	{"admin get", "GET", pathAdmin + "/t1-u2", superAdmin, nil},
	{"admin delete", "DELETE", pathAdmin + "/t1-u2", superAdmin, nil},
	{"admin revoke-all", "POST", pathAdmin + "/revoke-all", superAdmin, map[string]any{"tenant_id": "T1"}},
	{"tenant list", "GET", pathTenant("T1"), superAdmin, nil},
	{"tenant list as partner admin", "GET", pathTenant("T1"), partnerAdmin, nil},
	{"tenant stats", "GET", pathTenant("T1") + "/stats", tenantAdmin, nil},
	{"tenant get", "GET", pathTenant("T1") + "/t1-u2", superAdmin, nil},
	{"tenant delete", "DELETE", pathTenant("T1") + "/t1-u2", superAdmin, nil},
	{"tenant revoke-all", "POST", pathTenant("T1") + "/revoke-all", superAdmin, nil},
	{"tenant user revoke", "POST", pathTenant("T1") + "/users/u1/revoke", superAdmin, map[string]any{"revoke_all": true}},
	{"me list", "GET", pathMe, userU1, nil},
	{"me revoke-all", "POST", pathMe + "/revoke-all", userU1, nil},
	{"me delete", "DELETE", pathMe + "/t1-u1-b", userU1, nil},
	{"internal create", "POST", pathInternal, serviceWrite, map[string]any{"user_id": "u1", "tenant_id": "T1", "ttl_seconds": 60}},
	{"internal activity", "POST", pathInternal + "/t1-u2/activity", serviceWrite, nil},
}

// mustAllUnavailable checks that every request needing Redis answers 503
// {"detail": …} and that /readyz answers 503 while /healthz stays 200.
func mustAllUnavailable(t *testing.T, e *env) {
	t.Helper()
	for _, tc := range unavailableCases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, req{Method: tc.method, Path: tc.path, Token: e.token(t, tc.caller), Body: tc.body})
			mustDetail(t, r, http.StatusServiceUnavailable)
		})
	}
	t.Run("readyz", func(t *testing.T) {
		r := e.get(t, "/readyz", "")
		mustStatus(t, r, http.StatusServiceUnavailable)
		body := mustDecode[map[string]any](t, r)
		if d, ok := body["detail"].(string); !ok || d == "" {
			t.Errorf("readyz body: got %s, want a detail", r.Body)
		}
	})
	t.Run("healthz", func(t *testing.T) {
		mustStatus(t, e.get(t, "/healthz", ""), http.StatusOK)
	})
}

// The clients below fail fast (mustFastFailClient): go-redis would retry
// each dial and each command with backoff, which changes the latency of a
// 503, not its status. TestUnavailableDefaultRetries keeps the defaults.

func TestUnavailableClosedPort(t *testing.T) {
	mustAllUnavailable(t, newEnvWith(t, mustFastFailClient(t, mustClosedAddr(t)), envConfig{}))
}

func TestUnavailableDefaultRetries(t *testing.T) {
	e := newEnvWith(t, mustConnect(t, "redis://"+mustClosedAddr(t)+"/0"), envConfig{})
	mustDetail(t, e.get(t, pathAdmin, e.token(t, superAdmin)), http.StatusServiceUnavailable)
	mustStatus(t, e.get(t, "/readyz", ""), http.StatusServiceUnavailable)
}

// TestUnavailableStoppedServer stops a redis-server the router was using.
func TestUnavailableStoppedServer(t *testing.T) {
	srv := testredis.Start(t)
	e := newEnvWith(t, mustFastFailClient(t, srv.Addr()), envConfig{})
	e.seedWorld(t)
	mustStatus(t, e.get(t, "/readyz", ""), http.StatusOK)
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop redis-server: %v", err)
	}
	mustAllUnavailable(t, e)
}

// TestUnavailableStoppedDevStore stops the embedded dev store under the router.
func TestUnavailableStoppedDevStore(t *testing.T) {
	emb, err := redisstore.StartEmbedded()
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	e := newEnvWith(t, mustFastFailClient(t, emb.Addr()), envConfig{})
	e.seedWorld(t)
	emb.Close()
	mustAllUnavailable(t, e)
}
