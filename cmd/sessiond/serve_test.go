package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/config"
)

var (
	adminTokenRE   = regexp.MustCompile(`export ADMIN_TOKEN=(\S+)`)
	serviceTokenRE = regexp.MustCompile(`export SERVICE_TOKEN=(\S+)`)
	devSecretRE    = regexp.MustCompile(`SESSIOND_JWT_HS256_SECRET=(\S+) go run ./cmd/sessiond token`)
)

// mustMatch returns the first group of re in s.
func mustMatch(tb testing.TB, re *regexp.Regexp, s string) string {
	tb.Helper()
	m := re.FindStringSubmatch(s)
	if m == nil {
		tb.Fatalf("output does not match %s:\n%s", re, s)
	}
	return m[1]
}

// newSession is the body of a session-create request.
func newSession(id, user, tenant string) map[string]any {
	return map[string]any{
		"id": id, "user_id": user, "tenant_id": tenant, "partner_id": "p1", "ttl_seconds": 3600,
		"user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
	}
}

// TestServeDevMode runs the server as `go run ./cmd/sessiond` does with an
// empty environment: embedded store, generated secret, printed tokens.
func TestServeDevMode(t *testing.T) {
	s := mustServe(t, quietConfig())
	banner := s.stdout.String()
	for _, want := range []string{"DEV MODE", "nothing persists", "curl -s " + s.base + "/api/v1/admin/sessions", s.base + "/console#token="} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	admin := mustMatch(t, adminTokenRE, banner)
	service := mustMatch(t, serviceTokenRE, banner)
	secret := mustMatch(t, devSecretRE, banner)

	r := mustDo(t, http.MethodGet, s.base+"/healthz", "", nil).wantStatus(t, http.StatusOK)
	if got := field(t, r.body, "status"); got != "ok" {
		t.Errorf("healthz status = %v, want ok", got)
	}
	mustDo(t, http.MethodGet, s.base+"/readyz", "", nil).wantStatus(t, http.StatusOK)
	if res := mustGetConsole(t, s.base); res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("GET /console = %d with CSP %q, want 200 with frame-ancestors 'none'", res.StatusCode, res.Header.Get("Content-Security-Policy"))
	}
	mustDo(t, http.MethodGet, s.base+"/api/v1/admin/sessions", "", nil).wantStatus(t, http.StatusUnauthorized)

	r = mustDo(t, http.MethodPost, s.base+"/api/v1/internal/sessions", service, newSession("s1", "u1", "t1")).
		wantStatus(t, http.StatusCreated)
	if got := field(t, r.body, "data", "device_type"); got != "desktop" {
		t.Errorf("created device_type = %v, want desktop", got)
	}
	// The service token is no admin token, and the admin token no service token.
	mustDo(t, http.MethodGet, s.base+"/api/v1/admin/sessions", service, nil).wantStatus(t, http.StatusForbidden)
	mustDo(t, http.MethodPost, s.base+"/api/v1/internal/sessions", admin, newSession("s2", "u1", "t1")).
		wantStatus(t, http.StatusForbidden)

	r = mustDo(t, http.MethodGet, s.base+"/api/v1/admin/sessions", admin, nil).wantStatus(t, http.StatusOK)
	if got := field(t, r.body, "pagination", "total_items"); got != 1.0 {
		t.Errorf("total_items = %v, want 1", got)
	}
	items, _ := field(t, r.body, "data").([]any)
	if len(items) != 1 || field(t, items[0], "id") != "s1" || field(t, items[0], "user_id") != "u1" {
		t.Errorf("got data %v, want the one session s1 of u1", items)
	}

	// The secret printed for `sessiond token` is the one the server uses.
	var tok bytes.Buffer
	env := map[string]string{config.EnvHS256Secret: secret}
	if err := run(context.Background(), []string{"token", "--role", "tenant_admin", "--tenant", "t1"}, envMap(env), &tok); err != nil {
		t.Fatalf("token with the printed dev secret: %v", err)
	}
	r = mustDo(t, http.MethodGet, s.base+"/api/v1/tenants/t1/sessions/stats", strings.TrimSpace(tok.String()), nil).
		wantStatus(t, http.StatusOK)
	if got := field(t, r.body, "data", "active_sessions"); got != 1.0 {
		t.Errorf("active_sessions = %v, want 1", got)
	}

	// `sessiond healthcheck` (the image's HEALTHCHECK) passes while serving…
	if err := run(context.Background(), []string{"healthcheck", "--url", s.base + "/healthz"}, envMap(nil), &tok); err != nil {
		t.Errorf("healthcheck of a serving instance: %v", err)
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
	waitClosed(t, s.addr)
	// … and fails once it stopped.
	if err := run(context.Background(), []string{"healthcheck", "--url", s.base + "/healthz", "--timeout", "1s"}, envMap(nil), &tok); err == nil {
		t.Errorf("healthcheck of a stopped instance: got nil, want an error")
	}
}

// TestServeDevStoreWithSecret checks that a configured secret turns off the
// generated one and the banner, while the embedded store still serves.
func TestServeDevStoreWithSecret(t *testing.T) {
	cfg := quietConfig()
	cfg.HS256Secret = testSecret
	s := mustServe(t, cfg)
	if out := s.stdout.String(); out != "" {
		t.Errorf("got output %q, want no banner when a secret is configured", out)
	}
	admin, err := auth.MintHS256([]byte(testSecret), auth.MintOptions{Subject: "a", Role: auth.RoleSuperAdmin})
	if err != nil {
		t.Fatal(err)
	}
	mustDo(t, http.MethodGet, s.base+"/api/v1/admin/sessions/", admin, nil).wantStatus(t, http.StatusOK)
	if err := s.stop(t); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
}

// TestServeConsoleOff checks that SESSIOND_CONSOLE=off serves no console.
func TestServeConsoleOff(t *testing.T) {
	cfg := quietConfig()
	cfg.Console = false
	s := mustServe(t, cfg)
	if strings.Contains(s.stdout.String(), "/console") {
		t.Errorf("banner names the console while it is off:\n%s", s.stdout.String())
	}
	if res := mustGetConsole(t, s.base); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /console = %d, want 404 while the console is off", res.StatusCode)
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
}

// TestServeGracefulShutdown checks that cancelling serve's context closes the
// listener at once but lets an in-flight request finish before serve returns.
// The request is held in flight by sending its body only after the handler
// asked for it (Expect: 100-continue), so no timing is assumed.
func TestServeGracefulShutdown(t *testing.T) {
	s := mustServe(t, quietConfig())
	service := mustMatch(t, serviceTokenRE, s.stdout.String())

	conn, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() }) // runs before the server cleanup
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	body := `{"id":"late","user_id":"u1","tenant_id":"t1","ttl_seconds":60}`
	fmt.Fprintf(conn, "POST /api/v1/internal/sessions HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", s.addr, service, len(body))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("got %q, %v; want HTTP/1.1 100 Continue (the handler reading the body)", line, err)
	}
	if blank, err := br.ReadString('\n'); err != nil || blank != "\r\n" {
		t.Fatalf("got %q, %v after 100 Continue; want an empty line", blank, err)
	}

	s.cancel()
	waitClosed(t, s.addr)
	select {
	case err := <-s.done:
		t.Fatalf("serve returned %v while a request was in flight", err)
	default:
	}

	if _, err := conn.Write([]byte(body)); err != nil {
		t.Fatalf("write body: %v", err)
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response of the in-flight request: %v", err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Errorf("in-flight request: got status %d, want 201", res.StatusCode)
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
}

// TestServeListenError checks that an address in use is reported against
// SESSIOND_ADDR.
// TestServeListenError: an address in use (the API's or SESSIOND_PPROF_ADDR's)
// fails the start with an error naming the variable, and leaves the other
// listener closed.
func TestServeListenError(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wantVar string
		occupy  func(cfg *config.Config, busy string) (other string)
	}{
		{"API address", config.EnvAddr, func(cfg *config.Config, busy string) string { cfg.Addr = busy; return "" }},
		{"pprof address", config.EnvPprofAddr, func(cfg *config.Config, busy string) string {
			cfg.Addr, cfg.PprofAddr = freeAddr(t), busy
			return cfg.Addr
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			cfg := quietConfig()
			other := tc.occupy(&cfg, ln.Addr().String())
			err = serve(context.Background(), cfg, &testserver.SyncBuffer{}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantVar) {
				t.Fatalf("got error %v, want one naming %s", err, tc.wantVar)
			}
			if other != "" {
				waitClosed(t, other)
			}
		})
	}
}

// TestServeRedis runs the server against a real redis-server, as in
// production, and checks that /readyz follows Redis.
func TestServeRedis(t *testing.T) {
	rs := testredis.Start(t)
	env := map[string]string{
		config.EnvAddr:         "127.0.0.1:0",
		config.EnvRedisURL:     rs.URL(0),
		config.EnvHS256Secret:  testSecret,
		config.EnvRedisTimeout: "1s",
		config.EnvLogLevel:     "error",
	}
	cfg, err := config.Load(envMap(env))
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	if cfg.DevStore() || cfg.DevTokens() {
		t.Fatalf("DevStore, DevTokens = %v, %v; want false, false", cfg.DevStore(), cfg.DevTokens())
	}
	s := mustServe(t, cfg)
	if out := s.stdout.String(); out != "" {
		t.Errorf("got output %q, want none outside dev mode", out)
	}
	mustDo(t, http.MethodGet, s.base+"/readyz", "", nil).wantStatus(t, http.StatusOK)

	svcOpts, err := auth.RoleOptions("service")
	if err != nil {
		t.Fatal(err)
	}
	service, err := auth.MintHS256([]byte(testSecret), svcOpts)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := auth.MintHS256([]byte(testSecret), auth.MintOptions{Subject: "a", Role: auth.RoleSuperAdmin})
	if err != nil {
		t.Fatal(err)
	}
	mustDo(t, http.MethodPost, s.base+"/api/v1/internal/sessions", service, newSession("r1", "u1", "t1")).
		wantStatus(t, http.StatusCreated)
	r := mustDo(t, http.MethodGet, s.base+"/api/v1/admin/sessions/r1", admin, nil).wantStatus(t, http.StatusOK)
	if got := field(t, r.body, "data", "id"); got != "r1" {
		t.Errorf("got session %v, want r1", got)
	}
	// The session is in this redis-server, not in an embedded store.
	rc := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer rc.Close()
	if n, err := rc.Exists(context.Background(), "s:{t1}:r1").Result(); err != nil || n != 1 {
		t.Fatalf("EXISTS s:{t1}:r1 = %d, %v; want 1", n, err)
	}

	if err := rs.Stop(); err != nil {
		t.Fatalf("stop redis-server: %v", err)
	}
	r = mustDo(t, http.MethodGet, s.base+"/readyz", "", nil).wantStatus(t, http.StatusServiceUnavailable)
	if got := field(t, r.body, "status"); got != "unavailable" {
		t.Errorf("readyz status = %v, want unavailable", got)
	}
	mustDo(t, http.MethodGet, s.base+"/healthz", "", nil).wantStatus(t, http.StatusOK)
	r = mustDo(t, http.MethodGet, s.base+"/api/v1/admin/sessions", admin, nil).wantStatus(t, http.StatusServiceUnavailable)
	if got := field(t, r.body, "detail"); got != "Session store unavailable" {
		t.Errorf("detail = %v, want Session store unavailable", got)
	}

	if err := s.stop(t); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
}

// mustGetConsole fetches the console page (HTML, so not through mustDo).
func mustGetConsole(tb testing.TB, base string) *http.Response {
	tb.Helper()
	res, err := http.Get(base + "/console")
	if err != nil {
		tb.Fatalf("GET /console: %v", err)
	}
	_ = res.Body.Close()
	return res
}

// TestRunRefusesOtherViewLayout: with views already split into another
// number of shards than SESSIOND_VIEW_SHARDS, the server does not start:
// its listings would miss the sessions of the other layout.
func TestRunRefusesOtherViewLayout(t *testing.T) {
	rs := testredis.Start(t)
	rdb := rs.NewClient(t)
	if err := rdb.Set(context.Background(), "vn:{#g}", "8", 0).Err(); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		config.EnvAddr: "127.0.0.1:0", config.EnvRedisURL: rs.URL(rdb.Options().DB), config.EnvHS256Secret: testSecret,
		config.EnvLogLevel: "error", config.EnvViewShards: "4",
	}
	// Were it to serve, it would stop after a while and return nil.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out testserver.SyncBuffer
	err := run(ctx, nil, envMap(env), &out)
	if err == nil || !strings.Contains(err.Error(), config.EnvViewShards) || !strings.Contains(err.Error(), "set it to 8") {
		t.Fatalf("run: %v; want an error naming %s and the recorded 8", err, config.EnvViewShards)
	}
}
