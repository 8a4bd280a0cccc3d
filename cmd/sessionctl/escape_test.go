package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/client"
)

func TestSafe(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (X11; Linux x86_64)"},
		{"Mozilla\x1b]0;owned\x07\x1b[2J", `Mozilla\x1b]0;owned\a\x1b[2J`},
		{"a\r\nb\tc", `a\r\nb\tc`},
		{"del\x7f c1\u0085", `del\x7f c1\u0085`},
		{"bidi \u202egnp.exe", `bidi \u202egnp.exe`},
		{"zw\u200bsp \u2028", `zw\u200bsp \u2028`},
		{"bad \xff utf8", `bad \xff utf8`},
		{"Zürich, 東京", "Zürich, 東京"},
	}
	for _, tc := range tests {
		if got := safe(tc.in); got != tc.want {
			t.Errorf("safe(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// hostile holds what a terminal must never receive raw.
var hostile = []string{"\x1b", "\x07", "\r", "\u202e", "\u2028", "\x00"}

func mustBeInert(tb testing.TB, what, out string) {
	tb.Helper()
	for _, h := range hostile {
		if strings.Contains(out, h) {
			tb.Errorf("%s writes %q raw:\n%q", what, h, out)
		}
	}
}

// TestHumanOutputEscapes: stored strings with terminal escapes, bidi
// overrides and line breaks come out of every human-readable output as
// visible escapes; JSON output keeps them exact.
func TestHumanOutputEscapes(t *testing.T) {
	tenant := uniq("esc")
	ua := "Mozilla\x1b]0;owned\x07\x1b[2J\r\n\u202eevil"
	s, err := srv.service.CreateSession(context.Background(), client.CreateSessionRequest{
		UserID: uniq("eve"), TenantID: tenant, UserAgent: ua, UserEmail: "e\x1b[31m@example.com",
		UserDisplayName: "Eve\x00\u2028", Location: "here\x07", TTL: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.service.RecordActivity(context.Background(), s.ID, client.Activity{ApplicationID: "app", ApplicationName: "CRM\x1b[2J"}); err != nil {
		t.Fatal(err)
	}
	r := mustOK(t, sessionctl(t, "get", s.ID))
	mustBeInert(t, "get", r.stdout)
	if !strings.Contains(r.stdout, `Mozilla\x1b]0;owned\a\x1b[2J\r\n\u202eevil`) {
		t.Errorf("get: the user agent is not shown escaped:\n%s", r.stdout)
	}
	mustBeInert(t, "list", mustOK(t, sessionctl(t, "list", "--tenant", tenant)).stdout)
	if got := decode[client.Session](t, mustOK(t, sessionctl(t, "get", s.ID, "-o", "json"))); got.UserAgent != ua {
		t.Errorf("get -o json: user agent %q, want %q exactly", got.UserAgent, ua)
	}

	// An actor with escapes (a token's sub) reaches watch's lines escaped.
	w := startWatch(t, srv.url)
	evil := srv.admin.As(mint(t, auth.MintOptions{Subject: "root\x1b[2J\u202e", Role: auth.RoleSuperAdmin}))
	if err := evil.RevokeSession(context.Background(), s.ID); err != nil {
		t.Fatal(err)
	}
	w.waitLines(t, s.ID)
	out := w.stop(t).stdout
	mustBeInert(t, "watch", out)
	if !strings.Contains(out, `actor=root\x1b[2J\u202e`) {
		t.Errorf("watch: the actor is not shown escaped:\n%s", out)
	}
}

// TestErrorTextEscapes: text sessiond sends back in an error reaches stderr
// escaped.
func TestErrorTextEscapes(t *testing.T) {
	url := stub(t, 404, `gone\u001b]0;x\u0007\r\nforged line`, 0) // JSON escapes
	r := sessionctlEnv(t, env("SESSIOND_URL", url, "SESSIOND_TOKEN", srv.adminToken), "get", "abc")
	mustBeInert(t, "an error", r.stderr)
	if !strings.Contains(r.stderr, `gone\x1b]0;x\a\r\nforged line`) {
		t.Errorf("stderr: %q, want the detail escaped", r.stderr)
	}
}

// TestStatsDeviceEscapes: a device type sessiond reports beyond the known
// ones is a key of its answer, and reaches the table escaped.
func TestStatsDeviceEscapes(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{"tenant_id":"t1","active_sessions":1,"active_users":1,`+
			`"sessions_by_device_type":{"tv\u001b]0;owned\u0007\u202e":1},"sessions_created_last_24h":1,`+
			`"sessions_revoked_last_24h":0,"generated_at":"2026-01-01T00:00:00.000Z"}}`)
	}))
	defer s.Close()
	r := mustOK(t, sessionctlEnv(t, env("SESSIOND_URL", s.URL, "SESSIOND_TOKEN", srv.adminToken), "stats", "t1"))
	mustBeInert(t, "stats", r.stdout)
	if !strings.Contains(r.stdout, `DEVICE tv\x1b]0;owned\a\u202e`) {
		t.Errorf("stats: the device type is not shown escaped:\n%s", r.stdout)
	}
}

// TestWatchLostEscapes: when a stream breaks, the line watch prints names
// the last event id and the error, both sessiond's text: they reach stderr
// escaped.
func TestWatchLostEscapes(t *testing.T) {
	var calls atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Type", "text/event-stream")
			// A header cannot carry controls: the id resumed with holds
			// a bidi override only.
			_, _ = io.WriteString(w, ": connected\n\nid: 1-0\u202e\n\n")
			return // the stream ends: watch resumes
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"detail":"down\u001b]0;owned\u0007\r\nforged line"}`)
	}))
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errb := &testserver.SyncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runConsole(ctx, []string{"watch"}, console{in: strings.NewReader(""), out: &testserver.SyncBuffer{}, err: errb},
			env("SESSIOND_URL", s.URL, "SESSIOND_TOKEN", srv.serviceToken))
	}()
	testserver.WaitFor(t, "two lost streams", func() bool { return strings.Count(errb.String(), "stream lost") >= 2 })
	cancel()
	<-done
	out := errb.String()
	mustBeInert(t, "watch's stderr", out)
	for _, want := range []string{`resuming after event 1-0\u202e`, `down\x1b]0;owned\a\r\nforged line`} {
		if !strings.Contains(out, want) {
			t.Errorf("watch's stderr lacks %s:\n%s", want, out)
		}
	}
}

// TestProgressEscapes: the progress line and the summary of a bulk
// revocation quote the flags, escaped.
func TestProgressEscapes(t *testing.T) {
	errb := &testserver.SyncBuffer{}
	a := &app{console: console{err: errb, errTTY: true}}
	p := a.startProgress("revoking sessions of tenant t\x1b[2J")
	p.set("revoking sessions of tenant t\x1b]0;owned\x07")
	p.finish("revoked 0 sessions of tenant t\u202e")
	// The line's own carriage return and erase are its business.
	out := strings.NewReplacer("\r", "", "\x1b[K", "").Replace(errb.String())
	mustBeInert(t, "progress", out)
	if !strings.Contains(out, `tenant t\u202e in `) {
		t.Errorf("progress: the summary is not shown escaped: %q", out)
	}
}
