package handlers_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/receiver"
)

// call is one request of the conformance test and the status it must get.
type call struct {
	method, path string
	caller       *auth.MintOptions // nil: no token
	token        string            // a raw token instead of caller's
	body         any
	header       map[string]string
	want         int
	// docMethod, when set, is the method of the documented operation the
	// answer belongs to: a 405 is documented on the path's GET operation.
	docMethod string
}

// oneReceiverRoutes are the routes of one receiver, below
// …/receivers/{receiver_id}.
var oneReceiverRoutes = []struct{ method, path string }{
	{"GET", ""}, {"GET", "/failures"}, {"POST", "/redeliver"}, {"DELETE", ""},
}

func as(o auth.MintOptions) *auth.MintOptions { return &o }

// conformance drives a router and validates every answer.
type conformance struct {
	e *env
	v *docValidator
}

// do sends c, checks its status and validates the answer against the
// document.
func (s *conformance) do(t *testing.T, c call) {
	t.Helper()
	var raw []byte
	switch b := c.body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatalf("marshal: %v", err)
		}
	}
	r := req{Method: c.method, Path: c.path, Header: c.header}
	if raw != nil {
		r.Body = raw
	}
	hdr := http.Header{}
	switch {
	case c.token != "":
		r.Token = c.token
	case c.caller != nil:
		r.Token = s.e.token(t, *c.caller)
	}
	if r.Token != "" {
		hdr.Set("Authorization", "Bearer "+r.Token)
	}
	if raw != nil {
		hdr.Set("Content-Type", "application/json")
	}
	for k, v := range c.header {
		hdr.Set(k, v)
	}
	resp := s.e.do(t, r)
	if resp.Code != c.want {
		t.Errorf("%s %s: status: got %d, want %d; body: %s", c.method, c.path, resp.Code, c.want, resp.Body)
		return
	}
	s.v.validate(t, exchange{method: c.method, docMethod: c.docMethod, path: c.path, header: hdr, body: raw, resp: resp})
}

// verifyMethods are the methods forward-auth answers.
var verifyMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// TestOpenAPIResponsesConform sends requests to every operation of the
// document through the real router on redis-server (happy paths and the
// error statuses each can answer) and validates each answer, status,
// declared headers and body, with kin-openapi's openapi3filter. Undeclared
// statuses fail (IncludeResponseStatus), and object schemas are closed, so
// an undeclared field fails too. Afterwards every operation must have been
// validated, with every status it declares except the few listed as
// unreachable.
//
// The event stream never ends, so its 200 is validated on the response's
// status, headers and first bytes (": connected"), read from a real HTTP
// server.
func TestOpenAPIResponsesConform(t *testing.T) {
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)

	e, _ := newFullEnv(t, realRedis.NewClient(t), true)
	doc := mustLoadServedDoc(t, e)
	closeObjects(doc)
	s := &conformance{e: e, v: newDocValidator(t, doc)}

	e.seedWorld(t)
	for _, x := range []sess{
		{"id": "x-admin-del", "user_id": "u5", "tenant_id": "T1"},
		{"id": "x-tenant-del", "user_id": "u5", "tenant_id": "T1"},
		{"id": "x-me-del", "user_id": "u1", "tenant_id": "T1"},
		{"id": "x-t9", "user_id": "u9", "tenant_id": "T9"},
	} {
		e.mustCreate(t, x)
	}
	big := `{"user_id": "` + strings.Repeat("x", 1<<20) + `"}`
	// fill registers the most receivers an owner may at path (as a super
	// admin) and returns the first one's id, which is read, has its failures
	// listed and redelivered, and is deleted last.
	fill := func(path, kind string) string {
		var first string
		for i := 0; i < receiver.MaxPerOwner; i++ {
			r := e.post(t, path, e.token(t, superAdmin),
				map[string]any{"url": "https://rp.example/" + strconv.Itoa(i), "kind": kind, "audience": "rp"})
			mustStatus(t, r, http.StatusCreated)
			if first == "" {
				first = mustDecode[envelope[receiverJSON]](t, r).Data.ID
			}
		}
		return first
	}
	rid := fill("/api/v1/tenants/T2/sessions/receivers", "caep")           // tenant T2's
	prid := fill("/api/v1/admin/sessions/receivers", "backchannel_logout") // the platform's
	const (
		admin  = "/api/v1/admin/sessions"
		me     = "/api/v1/me/sessions"
		in     = "/api/v1/internal/sessions"
		t1     = "/api/v1/tenants/T1/sessions"
		verify = "/api/v1/auth/verify"
	)
	super, padmin, tadmin, user := as(superAdmin), as(partnerAdmin), as(tenantAdmin), as(userU1)
	pread, pwrite, sread, swrite := as(platformRead), as(platformWrite), as(serviceRead), as(serviceWrite)

	calls := []call{
		// Activity first, so that sessions have an SSO app and a last activity.
		{method: "POST", path: in + "/t1-u1-a/activity", caller: swrite, want: 204,
			body: map[string]any{"application_id": "app-1", "application_name": "App One", "ip_address": "10.0.0.9"}},
		{method: "POST", path: in + "/t1-u1-b/activity", caller: swrite, want: 204},
		{method: "POST", path: in + "/nope/activity", caller: swrite, want: 404},
		{method: "POST", path: in + "/bad.id/activity", caller: swrite, want: 422},
		{method: "POST", path: in + "/t1-u1-a/activity", caller: swrite, body: `{"application_id": `, want: 422},
		{method: "POST", path: in + "/t1-u1-a/activity", caller: sread, want: 403},
		{method: "POST", path: in + "/t1-u1-a/activity", caller: swrite, body: big, want: 413},

		{method: "POST", path: in, caller: swrite, want: 201, body: map[string]any{"id": "x-full", "user_id": "u7", "tenant_id": "T1",
			"partner_id": "P1", "user_email": "u7@example.com", "user_display_name": "User Seven", "ip_address": "2001:db8::7",
			"user_agent": "curl/8.5.0", "location": "Berlin, DE", "ttl_seconds": 600, "idle_timeout_seconds": 300}},
		{method: "POST", path: in, caller: swrite, want: 201, body: map[string]any{"user_id": "u8", "tenant_id": "T1",
			"expires_at": e.now.Add(time.Hour).Format("2006-01-02T15:04:05Z07:00")}},
		{method: "POST", path: in, caller: swrite, want: 409, body: map[string]any{"id": "x-full", "user_id": "u7", "tenant_id": "T1", "ttl_seconds": 60}},
		{method: "POST", path: in, caller: swrite, want: 409, body: map[string]any{"user_id": "u7", "tenant_id": "T1", "partner_id": "P2", "ttl_seconds": 60}},
		{method: "POST", path: in, caller: swrite, want: 422, body: map[string]any{}},
		{method: "POST", path: in, caller: swrite, want: 422, body: map[string]any{"user_id": "u7", "tenant_id": "T1", "ttl_seconds": 60, "expires_at": "soon"}},
		{method: "POST", path: in, caller: sread, want: 403, body: map[string]any{"user_id": "u7", "tenant_id": "T1", "ttl_seconds": 60}},
		{method: "POST", path: in, caller: super, want: 403, body: map[string]any{"user_id": "u7", "tenant_id": "T1", "ttl_seconds": 60}},
		{method: "POST", path: in, caller: swrite, body: big, want: 413},

		{method: "GET", path: admin + "/", caller: super, want: 200},
		{method: "GET", path: admin + "/?page=1&per_page=2&tenant_id=T1", caller: padmin, want: 200},
		{method: "GET", path: admin + "/?page=9", caller: super, want: 200},
		{method: "GET", path: admin, caller: super, want: 200},
		{method: "GET", path: admin + "?user_id=u1&partner_id=P1", caller: tadmin, want: 200},
		{method: "GET", path: admin + "?tenant_id=T2", caller: tadmin, want: 200},
		{method: "GET", path: admin + "/", caller: pread, want: 200},
		{method: "GET", path: admin + "/", caller: user, want: 403},
		{method: "GET", path: admin, caller: swrite, want: 403},
		{method: "GET", path: admin + "/?per_page=0", caller: super, want: 422},
		{method: "GET", path: admin + "?page=x&per_page=101&user_id=a%20b", caller: super, want: 422},
		{method: "GET", path: admin + "/t1-u1-a", caller: super, want: 200},
		{method: "GET", path: admin + "/x-full", caller: padmin, want: 200},
		{method: "GET", path: admin + "/t3-u4", caller: tadmin, want: 404},
		{method: "GET", path: admin + "/nope", caller: super, want: 404},
		{method: "GET", path: admin + "/bad.id", caller: super, want: 422},
		{method: "GET", path: admin + "/t1-u1-a", caller: user, want: 403},

		{method: "GET", path: me, caller: user, want: 200},
		{method: "GET", path: me, caller: pread, want: 403},
		{method: "GET", path: me, caller: sread, want: 403},

		{method: "GET", path: t1, caller: super, want: 200},
		{method: "GET", path: t1 + "?user_id=u1&active_only=false&page=1&per_page=1", caller: tadmin, want: 200},
		{method: "GET", path: t1, caller: padmin, want: 200},
		{method: "GET", path: "/api/v1/tenants/T3/sessions", caller: tadmin, want: 403},
		{method: "GET", path: t1 + "?active_only=maybe", caller: super, want: 422},
		{method: "GET", path: "/api/v1/tenants/b@d/sessions", caller: super, want: 422},
		{method: "GET", path: t1 + "/stats", caller: tadmin, want: 200},
		{method: "GET", path: t1 + "/stats", caller: user, want: 403},
		{method: "GET", path: "/api/v1/tenants/b@d/sessions/stats", caller: super, want: 422},
		{method: "GET", path: t1 + "/users/u1", caller: super, want: 200},
		{method: "GET", path: t1 + "/users/u1?page=2&per_page=1&active_only=true", caller: pread, want: 200},
		{method: "GET", path: "/api/v1/tenants/T3/sessions/users/u4", caller: padmin, want: 403},
		{method: "GET", path: t1 + "/users/b,d", caller: super, want: 422},
		{method: "GET", path: t1 + "/t1-u1-a", caller: super, want: 200},
		{method: "GET", path: t1 + "/t1-u2", caller: tadmin, want: 200},
		{method: "GET", path: t1 + "/nope", caller: super, want: 404},
		{method: "GET", path: t1 + "/b.d", caller: super, want: 422},
		{method: "GET", path: "/api/v1/tenants/T3/sessions/t3-u4", caller: tadmin, want: 403},
		{method: "GET", path: t1 + "/audit", caller: tadmin, want: 200},
		{method: "GET", path: t1 + "/audit", want: 401},
		{method: "GET", path: t1 + "/audit?page=0", caller: tadmin, want: 422},
		{method: "GET", path: "/api/v1/tenants/T3/sessions/audit", caller: tadmin, want: 403},
		{method: "GET", path: t1 + "/policy", caller: tadmin, want: 200},
		{method: "GET", path: t1 + "/policy", want: 401},
		{method: "GET", path: "/api/v1/tenants/T3/sessions/policy", caller: tadmin, want: 403},
		{method: "GET", path: "/api/v1/tenants/b@d/sessions/policy", caller: super, want: 422},
		{method: "PUT", path: t1 + "/policy", caller: tadmin, body: map[string]any{"max_sessions_per_user": 100, "on_limit": "evict_oldest"}, want: 200},
		{method: "PUT", path: t1 + "/policy", body: map[string]any{}, want: 401},
		{method: "PUT", path: "/api/v1/tenants/T3/sessions/policy", caller: tadmin, body: map[string]any{}, want: 403},
		{method: "PUT", path: t1 + "/policy", caller: tadmin, body: map[string]any{"on_limit": "drop"}, want: 422},
		{method: "PUT", path: t1 + "/policy", caller: tadmin, body: big, want: 413},
		{method: "POST", path: t1 + "/receivers", caller: tadmin, body: map[string]any{"url": "https://rp.example/x", "kind": "caep", "audience": "rp"}, want: 201},
		{method: "POST", path: t1 + "/receivers", body: map[string]any{}, want: 401},
		{method: "POST", path: "/api/v1/tenants/T3/sessions/receivers", caller: tadmin, body: map[string]any{}, want: 403},
		{method: "POST", path: t1 + "/receivers", caller: tadmin, body: map[string]any{"url": "http://rp.example/x", "kind": "caep", "audience": "rp"}, want: 422},
		{method: "POST", path: t1 + "/receivers", caller: tadmin, body: big, want: 413},
		{method: "GET", path: t1 + "/receivers", caller: tadmin, want: 200},
		{method: "GET", path: t1 + "/receivers", want: 401},
		{method: "GET", path: "/api/v1/tenants/T3/sessions/receivers", caller: tadmin, want: 403},
		{method: "GET", path: "/api/v1/tenants/b@d/sessions/receivers", caller: super, want: 422},
		{method: "GET", path: "/.well-known/jwks.json", want: 200},
		{method: "POST", path: "/api/v1/tenants/T2/sessions/receivers", caller: super, body: map[string]any{"url": "https://rp.example/x", "kind": "caep", "audience": "rp"}, want: 409},
		{method: "GET", path: "/api/v1/tenants/T2/sessions/receivers/" + rid, caller: super, want: 200},
		{method: "GET", path: "/api/v1/tenants/T2/sessions/receivers/" + rid + "/failures", caller: super, want: 200},
		{method: "POST", path: "/api/v1/tenants/T2/sessions/receivers/" + rid + "/redeliver", caller: super, want: 200},
		{method: "DELETE", path: "/api/v1/tenants/T2/sessions/receivers/" + rid, caller: super, want: 204},
		{method: "POST", path: admin + "/receivers", caller: padmin, body: map[string]any{"url": "https://rp.example/p", "kind": "caep", "audience": "rp"}, want: 201},
		{method: "POST", path: admin + "/receivers", caller: super, body: map[string]any{"url": "https://rp.example/x", "kind": "caep", "audience": "rp"}, want: 409},
		{method: "POST", path: admin + "/receivers", body: map[string]any{}, want: 401},
		{method: "POST", path: admin + "/receivers", caller: tadmin, body: map[string]any{}, want: 403},
		{method: "POST", path: admin + "/receivers", caller: padmin, body: map[string]any{"url": "http://rp.example/x", "kind": "caep", "audience": "rp"}, want: 422},
		{method: "POST", path: admin + "/receivers", caller: padmin, body: big, want: 413},
		{method: "GET", path: admin + "/receivers", caller: pread, want: 200},
		{method: "GET", path: admin + "/receivers", want: 401},
		{method: "GET", path: admin + "/receivers", caller: user, want: 403},
		{method: "GET", path: admin + "/receivers/" + prid, caller: super, want: 200},
		{method: "GET", path: admin + "/receivers/" + prid, caller: padmin, want: 404},
		{method: "GET", path: admin + "/receivers/" + prid + "/failures", caller: super, want: 200},
		{method: "POST", path: admin + "/receivers/" + prid + "/redeliver", caller: pwrite, want: 200},
		{method: "POST", path: admin + "/receivers/nope/redeliver", caller: pread, want: 403},
		{method: "DELETE", path: admin + "/receivers/" + prid, caller: super, want: 204},

		{method: "GET", path: "/api/v1/internal/sessions/events", want: 401},
		{method: "GET", path: "/api/v1/internal/sessions/events", token: "not-a-jwt", want: 401},
		{method: "GET", path: "/api/v1/internal/sessions/events", caller: user, want: 403},
		{method: "GET", path: "/api/v1/internal/sessions/events", caller: sread, header: map[string]string{"Last-Event-ID": "nope"}, want: 422},
		{method: "GET", path: "/api/v1/internal/sessions/events?last_event_id=x", caller: swrite, want: 422},

		{method: "GET", path: "/healthz", want: 200},
		{method: "GET", path: "/readyz", want: 200},
		{method: "GET", path: "/metrics", want: 200},
		{method: "GET", path: "/openapi.json", want: 200},
		{method: "GET", path: "/docs", want: 200},
		{method: "GET", path: "/console", want: 200},
		{method: "GET", path: "/console/index.html", want: 200},
		{method: "GET", path: "/console/such.js", want: 404},
	}
	// Each route of one receiver, on one that does not exist, of a tenant
	// and of the platform: 404 for its owner, 401 without a token, 403 for
	// an outsider, 422 for a bad id.
	for _, r := range oneReceiverRoutes {
		calls = append(calls,
			call{method: r.method, path: t1 + "/receivers/nope" + r.path, caller: tadmin, want: 404},
			call{method: r.method, path: t1 + "/receivers/nope" + r.path, want: 401},
			call{method: r.method, path: "/api/v1/tenants/T3/sessions/receivers/nope" + r.path, caller: tadmin, want: 403},
			call{method: r.method, path: t1 + "/receivers/b.d" + r.path, caller: tadmin, want: 422},
			call{method: r.method, path: admin + "/receivers/nope" + r.path, caller: super, want: 404},
			call{method: r.method, path: admin + "/receivers/nope" + r.path, want: 401},
			call{method: r.method, path: admin + "/receivers/nope" + r.path, caller: tadmin, want: 403},
			call{method: r.method, path: admin + "/receivers/b.d" + r.path, caller: super, want: 422},
		)
	}
	// Another method on an operations route is 405, documented on its GET.
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/console", "/console/index.html", "/.well-known/jwks.json"} {
		calls = append(calls, call{method: "DELETE", docMethod: "GET", path: path, want: http.StatusMethodNotAllowed})
	}
	// Forward-auth, every method on both paths: alive, no token, a token
	// whose session does not exist, a bad token.
	gone := auth.MintOptions{Subject: "u1", TenantID: "T1", SessionID: "gone"}
	for _, path := range []string{verify, verify + "/app"} {
		for _, m := range verifyMethods {
			calls = append(calls,
				call{method: m, path: path, caller: user, want: 200},
				call{method: m, path: path, want: 401},
				call{method: m, path: path, caller: &gone, want: 401},
				call{method: m, path: path, token: "not-a-jwt", want: 401},
			)
		}
	}
	// Writes, after the reads.
	calls = append(calls, []call{
		{method: "DELETE", path: admin + "/x-admin-del", caller: super, want: 204},
		{method: "DELETE", path: admin + "/x-admin-del", caller: super, want: 404},
		{method: "DELETE", path: admin + "/bad.id", caller: super, want: 422},
		{method: "DELETE", path: admin + "/t1-u2", caller: pread, want: 403},
		{method: "DELETE", path: t1 + "/x-tenant-del", caller: tadmin, want: 204},
		{method: "DELETE", path: t1 + "/x-tenant-del", caller: tadmin, want: 404},
		{method: "DELETE", path: t1 + "/b.d", caller: tadmin, want: 422},
		{method: "DELETE", path: "/api/v1/tenants/T3/sessions/t3-u4", caller: tadmin, want: 403},
		{method: "DELETE", path: me + "/x-me-del", caller: user, want: 200},
		{method: "DELETE", path: me + "/t1-u2", caller: user, want: 404},
		{method: "DELETE", path: me + "/b.d", caller: user, want: 422},
		{method: "DELETE", path: me + "/t1-u1-b", caller: pwrite, want: 403},
		{method: "POST", path: me + "/revoke-all", caller: user, want: 200},
		{method: "POST", path: me + "/revoke-all", caller: swrite, want: 403},
		{method: "POST", path: "/api/v1/tenants/T2/sessions/users/u3/revoke", caller: super, body: map[string]any{"session_ids": []string{"t2-u3", "nope"}}, want: 200},
		{method: "POST", path: t1 + "/users/u2/revoke", caller: pwrite, body: map[string]any{"revoke_all": true, "except_current": false}, want: 200},
		{method: "POST", path: t1 + "/users/u2/revoke", caller: super, body: map[string]any{}, want: 422},
		{method: "POST", path: t1 + "/users/u2/revoke", caller: super, body: map[string]any{"session_ids": []any{"ok", 7, "b.d"}}, want: 422},
		{method: "POST", path: "/api/v1/tenants/T3/sessions/users/u4/revoke", caller: tadmin, body: map[string]any{"revoke_all": true}, want: 403},
		{method: "POST", path: t1 + "/users/u2/revoke", caller: super, body: big, want: 413},
		{method: "POST", path: "/api/v1/tenants/T9/sessions/revoke-all", caller: super, want: 200},
		{method: "POST", path: "/api/v1/tenants/b@d/sessions/revoke-all", caller: super, want: 422},
		{method: "POST", path: t1 + "/revoke-all", caller: pread, want: 403},
		{method: "POST", path: admin + "/revoke-all", caller: super, body: map[string]any{"user_id": "u4"}, want: 200},
		{method: "POST", path: admin + "/revoke-all", caller: padmin, body: map[string]any{"partner_id": "P2"}, want: 200},
		{method: "POST", path: admin + "/revoke-all", caller: super, body: map[string]any{}, want: 422},
		{method: "POST", path: admin + "/revoke-all", caller: super, body: `[1, 2`, want: 422},
		{method: "POST", path: admin + "/revoke-all", caller: pread, body: map[string]any{"user_id": "u1"}, want: 403},
		{method: "POST", path: admin + "/revoke-all", caller: super, body: big, want: 413},
	}...)

	for _, c := range calls {
		s.do(t, c)
		// Every API request without a token, or with a bad one, is 401.
		if c.want < 300 && strings.HasPrefix(c.path, "/api/v1/") && !strings.HasPrefix(c.path, verify) {
			s.do(t, call{method: c.method, path: c.path, body: c.body, header: c.header, want: 401})
			s.do(t, call{method: c.method, path: c.path, body: c.body, header: c.header, token: "not-a-jwt", want: 401})
			s.do(t, call{method: c.method, path: c.path, body: c.body, header: c.header, want: 401,
				token: mustToken(t, []byte("another-secret-0123456789abcdef-xyz"), *as(superAdmin))})
		}
	}
	s.followEvents(t)

	// 503: the same router on a Redis nobody listens on.
	dead, _ := newFullEnv(t, mustFastFailClient(t, mustClosedAddr(t)), false)
	ds := &conformance{e: dead, v: s.v}
	down := []call{
		{method: "GET", path: admin + "/", caller: super},
		{method: "GET", path: admin, caller: super},
		{method: "POST", path: admin + "/revoke-all", caller: super, body: map[string]any{"tenant_id": "T1"}},
		{method: "GET", path: admin + "/t1-u2", caller: super},
		{method: "DELETE", path: admin + "/t1-u2", caller: super},
		{method: "GET", path: me, caller: user},
		{method: "POST", path: me + "/revoke-all", caller: user},
		{method: "DELETE", path: me + "/t1-u1-b", caller: user},
		{method: "GET", path: t1, caller: super},
		{method: "POST", path: t1 + "/revoke-all", caller: super},
		{method: "GET", path: t1 + "/stats", caller: tadmin},
		{method: "GET", path: t1 + "/audit", caller: tadmin},
		{method: "GET", path: t1 + "/policy", caller: tadmin},
		{method: "PUT", path: t1 + "/policy", caller: tadmin, body: map[string]any{}},
		{method: "GET", path: t1 + "/users/u1", caller: super},
		{method: "POST", path: t1 + "/users/u1/revoke", caller: super, body: map[string]any{"revoke_all": true}},
		{method: "GET", path: t1 + "/t1-u2", caller: super},
		{method: "DELETE", path: t1 + "/t1-u2", caller: super},
		{method: "POST", path: in, caller: swrite, body: map[string]any{"user_id": "u1", "tenant_id": "T1", "ttl_seconds": 60}},
		{method: "POST", path: in + "/t1-u2/activity", caller: swrite},
		{method: "GET", path: "/api/v1/internal/sessions/events", caller: sread},
		{method: "GET", path: "/readyz"},
	}
	for _, o := range []struct {
		base         string
		admin, owner *auth.MintOptions
	}{{t1, tadmin, tadmin}, {admin, padmin, super}} {
		down = append(down,
			call{method: "GET", path: o.base + "/receivers", caller: o.admin},
			call{method: "POST", path: o.base + "/receivers", caller: o.admin, body: map[string]any{"url": "https://rp.example/x", "kind": "caep", "audience": "rp"}})
		for _, r := range oneReceiverRoutes {
			down = append(down, call{method: r.method, path: o.base + "/receivers/nope" + r.path, caller: o.owner})
		}
	}
	for _, c := range down {
		c.want = http.StatusServiceUnavailable
		ds.do(t, c)
	}
	for _, path := range []string{verify, verify + "/app"} {
		for _, m := range verifyMethods {
			ds.do(t, call{method: m, path: path, caller: user, want: http.StatusServiceUnavailable})
		}
	}

	s.mustCoverDocument(t)
}

// followEvents opens the revocation stream on a real server and validates
// the initial response: status, headers and its first bytes.
func (s *conformance) followEvents(t *testing.T) {
	t.Helper()
	srv := httptest.NewServer(s.e.router)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const path = "/api/v1/internal/sessions/events"
	hr, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	tok := s.e.token(t, serviceRead)
	hr.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatalf("open the event stream: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("event stream: got %d, want 200", resp.StatusCode)
	}
	// The first block, up to its blank line, is what the server flushed at once.
	var first bytes.Buffer
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		first.WriteString(line)
		if err != nil {
			t.Fatalf("read the event stream: %v", err)
		}
		if line == "\n" {
			break
		}
	}
	s.v.validate(t, exchange{method: "GET", path: path, header: http.Header{"Authorization": {"Bearer " + tok}},
		resp: response{Code: resp.StatusCode, Header: resp.Header, Body: first.Bytes()}})
}

// unreachable are documented statuses no request can get, with why.
var unreachable = map[string]string{
	"GET /api/v1/me/sessions 422":             "the reference declares it; the endpoint takes no input to validate",
	"POST /api/v1/me/sessions/revoke-all 422": "the reference declares it; the endpoint takes no input to validate",
}

// mustCoverDocument fails unless every operation of the document was
// validated with every status it declares (but the unreachable ones).
func (s *conformance) mustCoverDocument(t *testing.T) {
	t.Helper()
	v := s.v
	ops := operations(v.doc)
	var missing []string
	statuses := 0
	for _, op := range ops {
		if len(v.seen[op]) == 0 {
			missing = append(missing, op+" (never validated)")
			continue
		}
		method, path, _ := strings.Cut(op, " ")
		for code := range v.doc.Paths.Value(path).GetOperation(method).Responses.Map() {
			key := fmt.Sprintf("%s %s", op, code)
			var n int
			fmt.Sscan(code, &n)
			switch {
			case v.seen[op][n]:
				statuses++
			case unreachable[key] != "":
			default:
				missing = append(missing, key)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("not validated:\n  %s", strings.Join(missing, "\n  "))
	}
	t.Logf("OpenAPI conformance: %d of %d operations (routes) covered, %d operation×status pairs, %d responses and %d requests validated",
		len(v.seen), len(ops), statuses, v.responses, v.requests)
}
