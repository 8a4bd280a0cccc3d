package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// gatewayKind is a gateway the tests run, with its shipped configuration.
type gatewayKind struct {
	name string
	// start runs the gateway in front of appAddr, asking sessiondAddr, and
	// returns its base URL. It is stopped when the test ends.
	start func(t *testing.T, sessiondAddr, appAddr string) string
	// verifyHeaders are the headers the gateway itself puts on the verify
	// request (canonical names, Host aside).
	verifyHeaders []string
	// passesClientHeaders: the verify request also carries the client's
	// other headers (never its cookies or identity headers).
	passesClientHeaders bool
}

// gatewayKinds are every gateway that runs here, each on its shipped file.
var gatewayKinds = []gatewayKind{
	{
		name:          "nginx",
		start:         func(t *testing.T, sd, app string) string { return startNginx(t, sd, app).URL },
		verifyHeaders: []string{"Authorization", "X-Request-Id"},
	},
	{
		name:  "caddy",
		start: func(t *testing.T, sd, app string) string { return startCaddy(t, sd, app).URL },
		// Via: Caddy 2.10+.
		verifyHeaders: []string{"Authorization", "X-Request-Id", "Accept-Encoding",
			"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Via"},
		passesClientHeaders: true,
	},
}

// gateway is a gateway process, sessiond and the protected application,
// wired together.
type gateway struct {
	name     string
	URL      string
	sessiond *sessiond
	app      *app
	// verify records what the gateway sends sessiond; nil when the gateway
	// asks sessiond directly.
	verify *verifyRecorder
}

// newGateway is nginx asking sd directly.
func newGateway(t *testing.T, sd *sessiond) *gateway {
	t.Helper()
	a := startApp(t)
	return &gateway{name: "nginx", URL: startNginx(t, sd.Addr, a.Addr).URL, sessiond: sd, app: a}
}

// newRecordedGateway is a gateway of kind k asking sd through a
// verifyRecorder.
func newRecordedGateway(t *testing.T, k gatewayKind, sd *sessiond) *gateway {
	t.Helper()
	a := startApp(t)
	rec := startVerifyRecorder(t, sd)
	return &gateway{name: k.name, URL: k.start(t, rec.Addr, a.Addr), sessiond: sd, app: a, verify: rec}
}

// get sends a GET through the gateway with a bearer token (none when
// empty) and header name/value pairs.
func (g *gateway) get(t *testing.T, path, token string, header ...string) response {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return g.send(t, http.MethodGet, path, h, nil)
}

// send sends one request through the gateway.
func (g *gateway) send(t *testing.T, method, path string, header http.Header, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, g.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if body == nil {
		req.Body, req.ContentLength = nil, 0
	}
	for name, vals := range header {
		// Set as given: the tests send spellings (X_User_Id) that
		// Header.Set would canonicalise differently.
		req.Header[name] = vals
	}
	return do(t, req)
}

// mustPass checks that a request with token reaches the application as the
// session's user.
func (g *gateway) mustPass(t *testing.T, token string, want session) seen {
	t.Helper()
	before := g.app.hits.Load()
	r := g.get(t, "/orders/42", token)
	return g.checkPassed(t, r, before, want)
}

// checkPassed checks that r is the application's answer to its only
// request since before, made as the session's user with exactly sessiond's
// identity headers.
func (g *gateway) checkPassed(t *testing.T, r response, before int64, want session) seen {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("through %s: %d %s (WWW-Authenticate %q), want 200", g.name, r.status, r.body, r.header.Get("WWW-Authenticate"))
	}
	if n := g.app.hits.Load() - before; n != 1 {
		t.Fatalf("the application saw %d requests, want 1", n)
	}
	var s seen
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatalf("decode the application's answer %s: %v", r.body, err)
	}
	got := map[string][]string{}
	for name, vals := range s.Header {
		if id := identityName(name); id != "" {
			got[name] = vals
		}
	}
	wantID := map[string][]string{"X-Session-Id": {want.ID}, "X-User-Id": {want.UserID}, "X-Tenant-Id": {want.TenantID}}
	if want.PartnerID != "" {
		wantID["X-Partner-Id"] = []string{want.PartnerID}
	}
	if !sameHeaders(got, wantID) {
		t.Errorf("the application got identity headers %q, want exactly %q", got, wantID)
	}
	return s
}

// mustRefuse checks that the gateway answers 401 with sessiond's reason and
// that the application never saw the request.
func (g *gateway) mustRefuse(t *testing.T, token, reason string) {
	t.Helper()
	before := g.app.hits.Load()
	r := g.get(t, "/orders/42", token)
	g.checkRefused(t, r, reason)
	if n := g.app.hits.Load() - before; n != 0 {
		t.Errorf("the application saw %d requests, want none", n)
	}
}

// checkRefused checks a 401 with sessiond's challenge for reason.
func (g *gateway) checkRefused(t *testing.T, r response, reason string) {
	t.Helper()
	if r.status != http.StatusUnauthorized {
		t.Fatalf("through %s: %d %s, want 401", g.name, r.status, r.body)
	}
	want := `Bearer error="invalid_token", error_description="` + reason + `"`
	if reason == "missing bearer token" {
		want = "Bearer" // RFC 6750 §3.1: no error code without credentials
	}
	if got := r.header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != want {
		t.Errorf("WWW-Authenticate = %q, want exactly [%q]", got, want)
	}
	var body struct{ Detail string }
	if err := json.Unmarshal(r.body, &body); err != nil || body.Detail == "" {
		t.Errorf("401 body %q: want {\"detail\": …} (%v)", r.body, err)
	}
}

// identityName is the identity header a CGI/WSGI application would read
// name as (HTTP_X_USER_ID for X-User-Id, X_User_Id and X-User_Id), or "".
func identityName(name string) string {
	for _, h := range identityHeaders {
		if http.CanonicalHeaderKey(replaceUnderscores(name)) == h {
			return h
		}
	}
	return ""
}

func replaceUnderscores(s string) string {
	return strings.ReplaceAll(s, "_", "-")
}

func sameHeaders(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || len(v) != len(w) {
			return false
		}
		for i := range v {
			if v[i] != w[i] {
				return false
			}
		}
	}
	return true
}

// app is the protected application: it answers 200 with what it received,
// as JSON, and counts the requests that reached it.
type app struct {
	URL  string
	Addr string
	hits atomic.Int64
}

// seen is what the application answers.
type seen struct {
	Method    string      `json:"method"`
	URI       string      `json:"uri"`
	Path      string      `json:"path"`
	Body      []byte      `json:"body"`
	Header    http.Header `json:"header"`
	SessionID string      `json:"x_session_id"`
	UserID    string      `json:"x_user_id"`
	TenantID  string      `json:"x_tenant_id"`
	PartnerID string      `json:"x_partner_id"`
	// HasPartner tells an absent X-Partner-Id from an empty one.
	HasPartner bool   `json:"has_partner"`
	RequestID  string `json:"x_request_id"`
}

func startApp(t *testing.T) *app {
	t.Helper()
	a := &app{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, hasPartner := r.Header["X-Partner-Id"]
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(seen{
			Method:     r.Method,
			URI:        r.RequestURI,
			Path:       r.URL.Path,
			Body:       body,
			Header:     r.Header,
			SessionID:  r.Header.Get("X-Session-Id"),
			UserID:     r.Header.Get("X-User-Id"),
			TenantID:   r.Header.Get("X-Tenant-Id"),
			PartnerID:  r.Header.Get("X-Partner-Id"),
			HasPartner: hasPartner,
			RequestID:  r.Header.Get("X-Request-Id"),
		})
	}))
	t.Cleanup(srv.Close)
	a.URL, a.Addr = srv.URL, srv.Listener.Addr().String()
	return a
}

// verifyRecorder stands between a gateway and sessiond: it keeps every
// request the gateway sends, as sessiond receives it, and passes it on.
// Down closes its listener, so the gateway finds sessiond unreachable.
type verifyRecorder struct {
	Addr string
	srv  *httptest.Server

	mu   sync.Mutex
	reqs []verifyRequest
}

// verifyRequest is one request a gateway sent to sessiond.
type verifyRequest struct {
	Method, URI string
	Header      http.Header
	Body        []byte
}

func startVerifyRecorder(t *testing.T, sd *sessiond) *verifyRecorder {
	t.Helper()
	target, err := url.Parse(sd.URL)
	if err != nil {
		t.Fatalf("sessiond URL %q: %v", sd.URL, err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	rec := &verifyRecorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, verifyRequest{Method: r.Method, URI: r.RequestURI, Header: r.Header.Clone(), Body: body})
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(rec.srv.Close)
	rec.Addr = rec.srv.Listener.Addr().String()
	return rec
}

// mark is where the requests recorded from now on start.
func (v *verifyRecorder) mark() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.reqs)
}

// since returns the requests recorded after mark.
func (v *verifyRecorder) since(mark int) []verifyRequest {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]verifyRequest(nil), v.reqs[mark:]...)
}

// Down makes sessiond unreachable for the gateway: connections to the
// address it was given are refused from now on.
func (v *verifyRecorder) Down() { v.srv.Close() }
