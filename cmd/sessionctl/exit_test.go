package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/auth"
)

// stub answers every request with status and a FastAPI-style detail,
// after delay, as sessiond would for answers its real router cannot be made
// to give from sessionctl's commands (409, 500).
func stub(tb testing.TB, status int, detail string, delay time.Duration) string {
	tb.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-ID", "stub-req-1")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"detail":"` + detail + `"}`))
	}))
	tb.Cleanup(s.Close)
	return s.URL
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	tenant := uniq("acme")
	s := mustCreate(t, tenant, "", uniq("leo"), 1)[0]
	userToken := mint(t, auth.MintOptions{Subject: s.UserID, TenantID: tenant, SessionID: s.ID})
	expired := mint(t, auth.MintOptions{Subject: "root", Role: auth.RoleSuperAdmin, TTL: -time.Hour})
	otherAdmin := mint(t, auth.MintOptions{Subject: "ta", Role: auth.RoleTenantAdmin, TenantID: uniq("elsewhere")})
	down := testserver.ClosedURL(t)

	tests := []struct {
		name string
		env  func(string) string
		args []string
		code int
		// stderr must contain each of these.
		want []string
	}{
		{"unknown flag", env(), []string{"list", "--bogus"}, exitUsage,
			[]string{"sessionctl: list: flag provided but not defined: -bogus", "run 'sessionctl help list' for usage"}},
		{"unknown global flag", env(), []string{"--bogus", "list"}, exitUsage, []string{"flag provided but not defined: -bogus"}},
		{"bad flag value", env(), []string{"list", "--page", "x"}, exitUsage, []string{`invalid value "x" for flag -page`}},
		{"missing argument", env(), []string{"get"}, exitUsage, []string{"sessionctl: get: missing session ID"}},
		{"extra argument", env(), []string{"get", "a", "b"}, exitUsage, []string{`unexpected argument "b"`}},
		{"unknown command", env(), []string{"frobnicate"}, exitUsage, []string{`sessionctl: unknown command "frobnicate"`}},
		{"bad output", env(), []string{"list", "-o", "yaml"}, exitUsage, []string{`--output "yaml": want table or json`}},
		{"bad url", env("SESSIOND_URL", "ftp://x"), []string{"list"}, exitUsage, []string{"--url"}},
		{"revoke-user without user", env(), []string{"revoke-user", "--tenant", tenant}, exitUsage, []string{"--tenant and --user are required"}},
		{"all with page", env(), []string{"list", "--all", "--page", "2"}, exitUsage, []string{"--page and --all exclude each other"}},
		{"422 per page", env(), []string{"list", "--per-page", "1000"}, exitUsage,
			[]string{"sessiond answered 422 Unprocessable Entity", "query.per_page: Input should be less than or equal to 100", "request id: "}},
		{"422 two problems", env(), []string{"list", "--page", "-1", "--per-page", "0"}, exitUsage,
			[]string{"query.page: Input should be greater than or equal to 1"}},
		{"422 bad session id", env(), []string{"get", "a b"}, exitUsage, []string{"path.session_id: String should match the identifier pattern"}},
		{"422 bad event id", env("SESSIOND_TOKEN", srv.serviceToken), []string{"watch", "--from", "nope"}, exitUsage,
			[]string{"header.last-event-id"}},
		{"client-side bad id", env(), []string{"get", ".."}, exitUsage, []string{"not a valid path segment"}},
		{"404 get", env(), []string{"get", "no-such-session"}, exitNotFound, []string{"sessiond answered 404 Not Found: Not Found", "request id: "}},
		{"404 revoke", env(), []string{"revoke", "no-such-session"}, exitNotFound, []string{"404 Not Found"}},
		{"401 no token", env("SESSIOND_TOKEN", ""), []string{"list"}, exitDenied,
			[]string{"sessiond answered 401 Unauthorized: Not authenticated", "hint: check --token"}},
		{"401 expired", env("SESSIOND_TOKEN", expired), []string{"stats", tenant}, exitDenied, []string{"Invalid token: token expired"}},
		{"401 bad signature", env(), []string{"--token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "list"}, exitDenied, []string{"401 Unauthorized"}},
		{"403 user token", env("SESSIOND_TOKEN", userToken), []string{"list"}, exitDenied, []string{"sessiond answered 403 Forbidden: Forbidden"}},
		{"403 other tenant", env("SESSIOND_TOKEN", otherAdmin), []string{"revoke-tenant", tenant, "--yes"}, exitDenied, []string{"403 Forbidden"}},
		{"403 watch with admin token", env(), []string{"watch"}, exitDenied, []string{"403 Forbidden", "scope sessions:read"}},
		{"server down", env("SESSIOND_URL", down), []string{"list"}, exitUnavailable, []string{"sessiond unavailable", "connection refused"}},
		{"server down, watch", env("SESSIOND_URL", down, "SESSIOND_TOKEN", srv.serviceToken), []string{"watch"}, exitUnavailable, []string{"connection refused"}},
		{"server down, revoke-tenant", env("SESSIOND_URL", down), []string{"revoke-tenant", tenant, "--yes"}, exitUnavailable, []string{"connection refused"}},
		{"500", env("SESSIOND_URL", stub(t, 500, "Internal server error", 0)), []string{"get", "x"}, exitUnavailable,
			[]string{"sessiond answered 500 Internal Server Error: Internal server error", "request id: stub-req-1"}},
		{"503", env("SESSIOND_URL", stub(t, 503, "Session store unavailable", 0)), []string{"stats", "t"}, exitUnavailable,
			[]string{"503 Service Unavailable: Session store unavailable"}},
		{"503 watch", env("SESSIOND_URL", stub(t, 503, "Session store unavailable", 0)), []string{"watch"}, exitUnavailable,
			[]string{"503 Service Unavailable"}},
		{"timeout", env("SESSIOND_URL", stub(t, 200, "", 5*time.Second)), []string{"--timeout", "100ms", "list"}, exitUnavailable,
			[]string{"no answer within --timeout 100ms"}},
		{"409", env("SESSIOND_URL", stub(t, 409, "Session already exists", 0)), []string{"revoke", "x"}, exitConflict,
			[]string{"sessiond answered 409 Conflict: Session already exists", "request id: stub-req-1"}},
		{"400", env("SESSIOND_URL", stub(t, 400, "Bad request", 0)), []string{"list"}, exitUsage, []string{"400 Bad Request"}},
		{"other status", env("SESSIOND_URL", stub(t, 418, "teapot", 0)), []string{"list"}, exitError, []string{"418"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := sessionctlEnv(t, tc.env, tc.args...)
			if r.code != tc.code {
				t.Errorf("got exit code %d, want %d\nstderr: %s", r.code, tc.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("got stderr %q, want it to contain %q", r.stderr, w)
				}
			}
			if r.stdout != "" {
				t.Errorf("got stdout %q on failure, want nothing", r.stdout)
			}
		})
	}
}

func TestInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	slow := stub(t, 200, "", 5*time.Second)
	time.AfterFunc(100*time.Millisecond, cancel)
	var out, errb testserver.SyncBuffer
	code := run(ctx, []string{"--url", slow, "list"}, &out, &errb, env())
	if code != exitInterrupted || !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("got %d %q, want %d interrupted", code, errb.String(), exitInterrupted)
	}
}

// TestTokenNotShown passes the token every way and checks no output has it
// (every run of the tests checks that too).
func TestTokenNotShown(t *testing.T) {
	t.Parallel()
	tok := srv.adminToken
	noEnv := func(string) string { return "" }
	runs := [][]string{
		{"--url", srv.url, "--token", tok, "list", "--tenant", uniq("t")},
		{"--url", srv.url, "--token=" + tok, "get", "missing"},
		{"--url", testserver.ClosedURL(t), "--token", tok, "stats", "t"},
		{"--url", srv.url, "list", "--token", tok, "--per-page", "1000"},
		{"--url", srv.url, "--tokn", tok, "list"},     // a typo: the token becomes the command
		{"--url", srv.url, "--token", tok, "--bogus"}, // a flag error
		{"--url", srv.url, "--token", tok, "help"},
		{"--url", srv.url, "--token", tok, "-o", "json", "revoke", "missing"},
	}
	for _, args := range runs {
		r := sessionctlEnv(t, noEnv, args...)
		if strings.Contains(r.stdout+r.stderr, tok) {
			t.Errorf("%v: the token shows in the output", args)
		}
	}
	for _, args := range [][]string{{"--url", srv.url, tok}, {"--url", srv.url, "list", tok}} {
		if r := sessionctlEnv(t, noEnv, args...); r.code != exitUsage || !strings.Contains(r.stderr, "[REDACTED]") {
			t.Errorf("got %d %q, want %d and the misplaced token redacted", r.code, r.stderr, exitUsage)
		}
	}
}
