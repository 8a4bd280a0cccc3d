package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/config"
	"github.com/sessiond/sessiond/pkg/push"
	"github.com/sessiond/sessiond/pkg/signing"
)

const (
	logoutEvent  = "http://schemas.openid.net/event/backchannel-logout"
	revokedEvent = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
)

// rp is a relying party's HTTPS endpoint: it verifies each pushed token
// against sessiond's published JWKS and every claim the two specs require,
// and records what it got.
type rp struct {
	t        *testing.T
	srv      *httptest.Server
	kind     string
	audience string
	issuer   string
	keys     keyfunc.Keyfunc

	mu      sync.Mutex
	answer  func(jti string, attempt int) int // status for the attempt (1-based) of a jti
	tries   map[string]int                    // jti -> attempts seen
	bySID   map[string]map[string]bool        // sid -> jtis delivered (2xx)
	tenants map[string]bool                   // tenants named in the tokens (CAEP)
	bad     []string
}

func newRP(t *testing.T, kind, audience string) *rp {
	r := &rp{t: t, kind: kind, audience: audience, issuer: "https://sessiond.test",
		answer: func(string, int) int { return http.StatusOK }, tries: map[string]int{}, bySID: map[string]map[string]bool{}, tenants: map[string]bool{}}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *rp) serve(w http.ResponseWriter, req *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	var tok, typ string
	switch r.kind {
	case "backchannel_logout":
		if ct := req.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			r.fail("content type %q", ct)
		}
		if err := req.ParseForm(); err == nil {
			tok = req.PostForm.Get("logout_token")
		}
		if tok == "" {
			// ParseForm read the body already: parse what was read.
			if v, err := parseForm(string(raw)); err == nil {
				tok = v
			}
		}
		typ = "logout+jwt"
	default:
		if ct := req.Header.Get("Content-Type"); ct != "application/secevent+jwt" {
			r.fail("content type %q", ct)
		}
		tok, typ = string(raw), "secevent+jwt"
	}
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, r.keys.Keyfunc, jwt.WithValidMethods([]string{"ES256", "RS256"}),
		jwt.WithIssuer(r.issuer), jwt.WithAudience(r.audience), jwt.WithIssuedAt())
	if err != nil {
		r.fail("token: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if parsed.Header["typ"] != typ {
		r.fail("typ %v, want %s", parsed.Header["typ"], typ)
	}
	jti, _ := claims["jti"].(string)
	events, _ := claims["events"].(map[string]any)
	var sid string
	switch r.kind {
	case "backchannel_logout":
		if _, ok := events[logoutEvent]; !ok || len(events) != 1 {
			r.fail("events %v", events)
		}
		if _, ok := claims["exp"]; !ok {
			r.fail("no exp")
		}
		if _, ok := claims["nonce"]; ok {
			r.fail("a nonce, which the spec prohibits")
		}
		sid, _ = claims["sid"].(string)
		if sub, _ := claims["sub"].(string); sub == "" {
			r.fail("no sub")
		}
	default:
		ev, _ := events[revokedEvent].(map[string]any)
		if ev == nil || ev["event_timestamp"] == nil || ev["reason_admin"] == nil {
			r.fail("session-revoked event %v", events)
		}
		subj, _ := ev["subject"].(map[string]any)
		sess, _ := subj["session"].(map[string]any)
		sid, _ = sess["id"].(string)
		if tenant, ok := subj["tenant"].(map[string]any); ok {
			r.mu.Lock()
			r.tenants[fmt.Sprint(tenant["id"])] = true
			r.mu.Unlock()
		}
	}
	if jti == "" || sid == "" {
		r.fail("jti %q sid %q", jti, sid)
	}
	r.mu.Lock()
	r.tries[jti]++
	status := r.answer(jti, r.tries[jti])
	if status < 300 {
		if r.bySID[sid] == nil {
			r.bySID[sid] = map[string]bool{}
		}
		r.bySID[sid][jti] = true
	}
	r.mu.Unlock()
	w.WriteHeader(status)
}

func parseForm(body string) (string, error) {
	for _, kv := range strings.Split(body, "&") {
		if v, ok := strings.CutPrefix(kv, "logout_token="); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("no logout_token")
}

func (r *rp) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bad = append(r.bad, fmt.Sprintf(format, args...))
}

func (r *rp) setAnswer(f func(jti string, attempt int) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = f
}

// seen returns copies of what the receiver recorded: attempts by jti, the
// tenants named, the problems found.
func (r *rp) seen() (tries map[string]int, tenants map[string]bool, bad []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tries, tenants = map[string]int{}, map[string]bool{}
	for k, v := range r.tries {
		tries[k] = v
	}
	for k, v := range r.tenants {
		tenants[k] = v
	}
	return tries, tenants, append([]string(nil), r.bad...)
}

func (r *rp) delivered() map[string]map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]map[string]bool{}
	for sid, jtis := range r.bySID {
		out[sid] = map[string]bool{}
		for j := range jtis {
			out[sid][j] = true
		}
	}
	return out
}

// pushRig is two sessiond instances on one Redis, signing with one key,
// trusting the receivers' test certificate.
type pushRig struct {
	a, b  *testserver.Server
	admin string
}

func newPushRig(t *testing.T, rps ...*rp) *pushRig {
	rdb := sharedRedis.NewClient(t)
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := signing.NewKeySet(k, nil, time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	for _, r := range rps {
		pool.AddCert(r.srv.Certificate())
	}
	o := testserver.Options{
		Serve: true, Events: true, Push: true, Keys: keys, PushTLS: &tls.Config{RootCAs: pool},
		Config: func(c *config.Config) { c.PushIssuer, c.PushTries = "https://sessiond.test", 3 },
		PushWorker: func(w *push.Worker) {
			w.ReclaimIdle, w.BaseDelay, w.MaxDelay = time.Second, 20*time.Millisecond, 100*time.Millisecond
		},
	}
	r := &pushRig{a: testserver.New(t, rdb, o), b: testserver.New(t, rdb, o)}
	r.admin = mint(t, auth.MintOptions{Subject: "root", Role: auth.RoleSuperAdmin})
	// The receivers verify through the JWKS sessiond publishes.
	res, err := http.Get(r.a.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	kf, err := keyfunc.NewJWKSetJSON(raw)
	if err != nil {
		t.Fatalf("the published JWKS: %v: %s", err, raw)
	}
	for _, p := range rps {
		p.keys = kf
	}
	return r
}

func (r *pushRig) api(t *testing.T, method, url string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+r.admin)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// addReceiver registers p as a receiver of the tenant, or, for tenant "",
// of the platform (a super admin's, under the admin route).
func (r *pushRig) addReceiver(t *testing.T, tenant string, p *rp) string {
	t.Helper()
	url := r.a.URL + "/api/v1/tenants/" + tenant + "/sessions/receivers"
	if tenant == "" {
		url = r.a.URL + "/api/v1/admin/sessions/receivers"
	}
	st, b := r.api(t, http.MethodPost, url, map[string]any{"url": p.srv.URL + "/rp", "kind": p.kind, "audience": p.audience})
	if st != http.StatusCreated {
		t.Fatalf("add receiver: %d %s", st, b)
	}
	var env struct{ Data struct{ ID string } }
	_ = json.Unmarshal(b, &env)
	return env.Data.ID
}

func (r *pushRig) createSessions(t *testing.T, tenant string, n int) []string {
	t.Helper()
	svc := mint(t, mustRole(t, "service"))
	var ids []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s-s%d", tenant, i)
		req, _ := http.NewRequest(http.MethodPost, r.a.URL+"/api/v1/internal/sessions",
			strings.NewReader(fmt.Sprintf(`{"id":%q,"user_id":"u%d","tenant_id":%q,"ttl_seconds":3600}`, id, i%7, tenant)))
		req.Header.Set("Authorization", "Bearer "+svc)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusCreated {
			t.Fatalf("create %s: %v %v", id, res, err)
		}
		res.Body.Close()
		ids = append(ids, id)
	}
	return ids
}

func mustRole(t *testing.T, role string) auth.MintOptions {
	o, err := auth.RoleOptions(role)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// waitAll waits until every receiver got every session.
func waitAll(t *testing.T, ids []string, rps ...*rp) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range rps {
		for {
			got := p.delivered()
			missing := 0
			for _, id := range ids {
				if len(got[id]) == 0 {
					missing++
				}
			}
			if missing == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s receiver: %d of %d revocations never delivered", p.kind, missing, len(ids))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestPushAtLeastOnceAcrossInstances: two instances deliver a burst of
// revocations together; one is killed mid-burst; every revocation reaches
// both receivers of the tenant and the platform's receiver at least once, a
// duplicate carries the same jti, tokens verify through the JWKS with every
// claim the specs require, and another tenant's receiver gets nothing.
func TestPushAtLeastOnceAcrossInstances(t *testing.T) {
	bcl, caep, other := newRP(t, "backchannel_logout", "rp-bcl"), newRP(t, "caep", "rp-caep"), newRP(t, "caep", "rp-other")
	platform := newRP(t, "backchannel_logout", "rp-platform")
	r := newPushRig(t, bcl, caep, other, platform)
	r.addReceiver(t, "TP", bcl)
	r.addReceiver(t, "TP", caep)
	r.addReceiver(t, "TQ", other)
	r.addReceiver(t, "", platform) // the platform's: every tenant's revocations
	ids := r.createSessions(t, "TP", 300)
	// Slow the receivers a little so that the burst is still in flight
	// when instance A dies.
	for _, p := range []*rp{bcl, caep} {
		p.setAnswer(func(string, int) int { time.Sleep(2 * time.Millisecond); return http.StatusOK })
	}
	if st, b := r.api(t, http.MethodPost, r.a.URL+"/api/v1/tenants/TP/sessions/revoke-all", nil); st != http.StatusOK {
		t.Fatalf("revoke-all: %d %s", st, b)
	}
	for len(caep.delivered()) < 30 {
		time.Sleep(5 * time.Millisecond)
	}
	r.a.StopPush() // killed: what A claimed and did not finish stays pending for B
	waitAll(t, ids, bcl, caep, platform)
	for _, p := range []*rp{bcl, caep, platform} {
		if _, _, bad := p.seen(); len(bad) > 0 {
			t.Errorf("%s receiver saw bad tokens: %v", p.kind, bad[:min(5, len(bad))])
		}
		for sid, jtis := range p.delivered() {
			if len(jtis) != 1 {
				t.Errorf("%s receiver: session %s came with %d different jtis, want one", p.kind, sid, len(jtis))
			}
		}
	}
	if tries, _, _ := other.seen(); len(tries) != 0 {
		t.Errorf("tenant TQ's receiver got %d of tenant TP's revocations", len(tries))
	}
	if _, tenants, _ := caep.seen(); !tenants["TP"] || len(tenants) != 1 {
		t.Errorf("CAEP tenant subjects %v, want TP only", tenants)
	}
}

// TestPushRetriesFailuresAndRedelivery: a receiver that answers 500 once
// gets each event on the retry; one that is down past the tries has its
// deliveries in failures, and a redelivery, once it is up, empties them.
func TestPushRetriesFailuresAndRedelivery(t *testing.T) {
	flaky, down := newRP(t, "caep", "rp-flaky"), newRP(t, "backchannel_logout", "rp-down")
	flaky.answer = func(_ string, attempt int) int {
		if attempt == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	var up sync.Mutex
	isUp := false
	down.answer = func(string, int) int {
		up.Lock()
		defer up.Unlock()
		if isUp {
			return http.StatusOK
		}
		return http.StatusServiceUnavailable
	}
	r := newPushRig(t, flaky, down)
	r.addReceiver(t, "TR", flaky)
	downID := r.addReceiver(t, "TR", down)
	ids := r.createSessions(t, "TR", 5)
	if st, b := r.api(t, http.MethodPost, r.b.URL+"/api/v1/tenants/TR/sessions/revoke-all", nil); st != http.StatusOK {
		t.Fatalf("revoke-all: %d %s", st, b)
	}
	waitAll(t, ids, flaky)
	flakyTries, _, _ := flaky.seen()
	for jti, n := range flakyTries {
		if n != 2 {
			t.Errorf("flaky receiver: jti %s tried %d times, want 2 (a 500, then the retry)", jti, n)
		}
	}
	failuresURL := r.a.URL + "/api/v1/tenants/TR/sessions/receivers/" + downID + "/failures"
	var failures []map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for len(failures) < len(ids) {
		if time.Now().After(deadline) {
			t.Fatalf("failures of the down receiver: %d, want %d", len(failures), len(ids))
		}
		time.Sleep(50 * time.Millisecond)
		st, b := r.api(t, http.MethodGet, failuresURL, nil)
		var env struct{ Data []map[string]any }
		if st != http.StatusOK || json.Unmarshal(b, &env) != nil {
			t.Fatalf("failures: %d %s", st, b)
		}
		failures = env.Data
	}
	if a, _ := failures[0]["attempts"].(float64); a != 3 {
		t.Errorf("a failure after %v attempts, want 3 (SESSIOND_PUSH_TRIES)", failures[0]["attempts"])
	}
	up.Lock()
	isUp = true
	up.Unlock()
	st, b := r.api(t, http.MethodPost, r.a.URL+"/api/v1/tenants/TR/sessions/receivers/"+downID+"/redeliver", nil)
	if st != http.StatusOK || !strings.Contains(string(b), fmt.Sprintf(`"delivered":%d`, len(ids))) {
		t.Fatalf("redeliver: %d %s", st, b)
	}
	waitAll(t, ids, down)
	if st, b := r.api(t, http.MethodGet, failuresURL, nil); st != http.StatusOK || !strings.Contains(string(b), `"data":[]`) {
		t.Errorf("failures after the redelivery: %d %s", st, b)
	}
	for _, p := range []*rp{flaky, down} {
		if _, _, bad := p.seen(); len(bad) > 0 {
			t.Errorf("%s receiver saw bad tokens: %v", p.kind, bad)
		}
	}
}
