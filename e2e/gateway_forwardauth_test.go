package e2e

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/wire"
)

// gatewayEnv is what the cases of TestGatewayForwardAuth share: a gateway
// in front of sessiond on a Redis of its own, and two live sessions.
type gatewayEnv struct {
	*gateway
	kind       gatewayKind
	redis      *redisProc
	alice, bob session // alice has a partner, bob none
}

// gatewayCase is one client request through the gateway and what must come
// of it.
type gatewayCase struct {
	name string
	// prepare returns the client's Authorization header ("" for none) and
	// the session the application must see the request as (nil: the
	// application must not see it). It may change the world first: revoke
	// sessions, stop Redis or sessiond.
	prepare func(t *testing.T, e *gatewayEnv) (authorization string, as *session)
	method  string   // GET when empty
	header  []string // more client headers, name/value pairs, spelt as sent
	body    []byte
	status  int
	// challenge is sessiond's reason, for a 401.
	challenge string
}

// bearer is a prepare for a token minted from o.
func bearer(o func(e *gatewayEnv) auth.MintOptions) func(*testing.T, *gatewayEnv) (string, *session) {
	return func(t *testing.T, e *gatewayEnv) (string, *session) {
		return "Bearer " + mint(t, o(e)), nil
	}
}

// as is a prepare for the token of a live session, which must pass.
func as(pick func(e *gatewayEnv) session) func(*testing.T, *gatewayEnv) (string, *session) {
	return func(t *testing.T, e *gatewayEnv) (string, *session) {
		s := pick(e)
		return "Bearer " + userToken(t, s), &s
	}
}

func alice(e *gatewayEnv) session { return e.alice }
func bob(e *gatewayEnv) session   { return e.bob }

// raw is a prepare for an Authorization header sent as it is.
func raw(authorization string) func(*testing.T, *gatewayEnv) (string, *session) {
	return func(*testing.T, *gatewayEnv) (string, *session) { return authorization, nil }
}

// forgedIdentity is alice's identity, sent by a client in every spelling a
// CGI/WSGI application reads as its identity headers.
var forgedIdentity = []string{
	"X-User-Id", "alice", "X-Session-Id", "forged-sid", "X-Tenant-Id", "tenant-a", "X-Partner-Id", "partner-9",
	"X_User_Id", "alice", "X_Session_Id", "forged-sid", "X_Tenant_Id", "tenant-a", "X_Partner_Id", "partner-9",
	"X-User_Id", "alice", "x_partner-id", "partner-9",
}

// gatewayCases run in order against each gateway: the last ones stop Redis
// and then sessiond.
var gatewayCases = []gatewayCase{
	{name: "live session with a partner passes as its user", prepare: as(alice), status: http.StatusOK},
	{name: "live session without a partner passes without X-Partner-Id", prepare: as(bob), status: http.StatusOK},
	{
		name: "token without tenant_id passes", status: http.StatusOK,
		prepare: func(t *testing.T, e *gatewayEnv) (string, *session) {
			// sessiond then finds the session's tenant from its id.
			return "Bearer " + mint(t, auth.MintOptions{Subject: e.alice.UserID, SessionID: e.alice.ID}), &e.alice
		},
	},
	{
		name:    "forged identity headers beside a valid token never reach the application",
		prepare: as(bob), header: forgedIdentity, status: http.StatusOK,
	},
	{
		name:    "forged identity beside a token with a partner never reaches the application",
		prepare: as(alice), header: forgedIdentity, status: http.StatusOK,
	},
	{
		name:    "forged identity without a token is refused",
		prepare: raw(""), header: forgedIdentity, status: http.StatusUnauthorized, challenge: "missing bearer token",
	},
	{name: "no token", prepare: raw(""), status: http.StatusUnauthorized, challenge: "missing bearer token"},
	{name: "garbage token", prepare: raw("Bearer not-a-token"), status: http.StatusUnauthorized, challenge: "malformed token"},
	{
		name: "Basic credentials", prepare: raw("Basic YWxpY2U6czNjcjN0"),
		status: http.StatusUnauthorized, challenge: "missing bearer token",
	},
	{
		name: "token signed with another key", status: http.StatusUnauthorized, challenge: "signature invalid",
		prepare: func(t *testing.T, e *gatewayEnv) (string, *session) {
			return "Bearer " + mintWith(t, []byte("another-secret-0123456789abcdef0123"), auth.MintOptions{
				Subject: e.alice.UserID, TenantID: e.alice.TenantID, SessionID: e.alice.ID,
			}), nil
		},
	},
	{
		name: "expired token", status: http.StatusUnauthorized, challenge: "token expired",
		prepare: bearer(func(e *gatewayEnv) auth.MintOptions {
			return auth.MintOptions{Subject: e.alice.UserID, TenantID: e.alice.TenantID, SessionID: e.alice.ID, TTL: -time.Hour}
		}),
	},
	{
		name: "token without sid", status: http.StatusUnauthorized, challenge: "token has no valid sid",
		prepare: bearer(func(e *gatewayEnv) auth.MintOptions {
			return auth.MintOptions{Subject: e.alice.UserID, TenantID: e.alice.TenantID}
		}),
	},
	{
		name: "token of another user", status: http.StatusUnauthorized, challenge: "session belongs to another user",
		prepare: bearer(func(e *gatewayEnv) auth.MintOptions {
			return auth.MintOptions{Subject: "mallory", TenantID: e.alice.TenantID, SessionID: e.alice.ID}
		}),
	},
	{
		name: "token naming another tenant", status: http.StatusUnauthorized, challenge: "session revoked or expired",
		prepare: bearer(func(e *gatewayEnv) auth.MintOptions {
			return auth.MintOptions{Subject: e.alice.UserID, TenantID: e.bob.TenantID, SessionID: e.alice.ID}
		}),
	},
	{
		name: "unknown session", status: http.StatusUnauthorized, challenge: "session revoked or expired",
		prepare: bearer(func(e *gatewayEnv) auth.MintOptions {
			return auth.MintOptions{Subject: e.alice.UserID, TenantID: e.alice.TenantID, SessionID: "no-such-session"}
		}),
	},
	{
		name: "POST body reaches the application intact", prepare: as(alice), status: http.StatusOK,
		method: http.MethodPost, header: []string{"Content-Type", "application/json"}, body: []byte(`{"order":42,"note":"é"}`),
	},
	{
		name: "large PUT body reaches the application intact", prepare: as(bob), status: http.StatusOK,
		method: http.MethodPut, header: []string{"Content-Type", "application/octet-stream"}, body: randomBytes(256 << 10),
	},
	{name: "PATCH is checked", prepare: as(alice), method: http.MethodPatch, body: []byte(`{}`), status: http.StatusOK},
	{name: "DELETE is checked", prepare: as(alice), method: http.MethodDelete, status: http.StatusOK},
	{name: "OPTIONS is checked", prepare: as(alice), method: http.MethodOptions, status: http.StatusOK},
	{
		name: "POST without a token is refused", prepare: raw(""), method: http.MethodPost, body: []byte(`{"order":42}`),
		status: http.StatusUnauthorized, challenge: "missing bearer token",
	},
	{
		name: "first request after a tenant DELETE of the session is refused", prepare: revokeOne,
		status: http.StatusUnauthorized, challenge: "session revoked or expired",
	},
	{
		name: "bulk revoke refuses all 50 sessions at once", prepare: revokeBulk,
		status: http.StatusUnauthorized, challenge: "session revoked or expired",
	},
	{
		name: "expired session is refused", prepare: expireOne,
		status: http.StatusUnauthorized, challenge: "session revoked or expired",
	},
	{name: "Redis down: 503, the application never reached", prepare: stopRedis, status: http.StatusServiceUnavailable},
	{name: "sessiond down: 503, the application never reached", prepare: stopSessiond, status: http.StatusServiceUnavailable},
}

// TestGatewayForwardAuth runs every gateway that runs here, on its shipped
// configuration, through the same cases: what the client gets, what the
// application sees, and what sessiond is sent.
func TestGatewayForwardAuth(t *testing.T) {
	t.Parallel()
	for _, k := range gatewayKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			rp := startRedisProc(t)
			sd := startSessiond(t, connect(t, rp.Addr()))
			e := &gatewayEnv{gateway: newRecordedGateway(t, k, sd), kind: k, redis: rp}
			e.alice = sd.createSession(t, "alice", "tenant-a", "partner-1")
			e.bob = sd.createSession(t, "bob", "tenant-c", "")
			for _, tc := range gatewayCases {
				t.Run(tc.name, func(t *testing.T) { e.run(t, tc) })
			}
		})
	}
}

// run sends tc's request and checks the client's answer, what the
// application saw and what the gateway sent sessiond.
func (e *gatewayEnv) run(t *testing.T, tc gatewayCase) {
	authz, want := tc.prepare(t, e)
	if (want != nil) != (tc.status == http.StatusOK) {
		t.Fatalf("case: prepare names the session %v for a status %d", want, tc.status)
	}
	header := http.Header{"Cookie": {"app_session=cookie-secret"}, "User-Agent": {"sessiond-e2e"}}
	if authz != "" {
		header["Authorization"] = []string{authz}
	}
	for i := 0; i+1 < len(tc.header); i += 2 {
		header[tc.header[i]] = append(header[tc.header[i]], tc.header[i+1])
	}
	method := cmp.Or(tc.method, http.MethodGet)
	mark, before := e.verify.mark(), e.app.hits.Load()
	const path = "/orders/42?page=2"
	r := e.send(t, method, path, header, tc.body)

	switch tc.status {
	case http.StatusOK:
		s := e.checkPassed(t, r, before, *want)
		if s.Method != method || s.URI != path || !bytes.Equal(s.Body, tc.body) {
			t.Errorf("the application got %s %s with %d body bytes, want %s %s with the %d bytes sent",
				s.Method, s.URI, len(s.Body), method, path, len(tc.body))
		}
		if got := s.Header.Get("Cookie"); got != "app_session=cookie-secret" {
			t.Errorf("the application got Cookie %q, want the client's", got)
		}
		for name := range s.Header {
			if strings.Contains(name, "_") {
				t.Errorf("the application got %s: %q, sent by the client", name, s.Header[name])
			}
		}
		e.checkVerify(t, mark, authz, header, s.RequestID)
	case http.StatusUnauthorized:
		e.checkRefused(t, r, tc.challenge)
		e.checkVerify(t, mark, authz, header, "")
	case http.StatusServiceUnavailable:
		if r.status != tc.status || r.header.Get("Retry-After") == "" {
			t.Errorf("through %s: %d %s, Retry-After %q; want 503 with Retry-After", e.name, r.status, r.body, r.header.Get("Retry-After"))
		}
	default:
		t.Fatalf("case wants %d: not a status these cases know", tc.status)
	}
	if tc.status != http.StatusOK {
		if n := e.app.hits.Load() - before; n != 0 {
			t.Errorf("the application saw %d requests, want none", n)
		}
	}
}

// checkVerify checks the one request the gateway sent sessiond since mark:
// GET /api/v1/auth/verify with the client's Authorization, the request id
// the application got (when it got the request), no body, no query, and no
// cookie or identity header of the client's.
func (e *gatewayEnv) checkVerify(t *testing.T, mark int, authz string, sent http.Header, requestID string) {
	t.Helper()
	reqs := e.verify.since(mark)
	if len(reqs) != 1 {
		t.Fatalf("sessiond got %d requests from %s, want 1", len(reqs), e.name)
	}
	v := reqs[0]
	if v.Method != http.MethodGet || v.URI != "/api/v1/auth/verify" || len(v.Body) != 0 {
		t.Errorf("sessiond got %s %s with %d body bytes, want GET /api/v1/auth/verify with none", v.Method, v.URI, len(v.Body))
	}
	if got := v.Header.Values("Authorization"); authz != "" && !slices.Equal(got, []string{authz}) || authz == "" && len(got) > 0 {
		t.Errorf("sessiond got Authorization %q, want %q", got, authz)
	}
	if got := v.Header.Get("X-Request-Id"); got == "" || requestID != "" && got != requestID {
		t.Errorf("sessiond got X-Request-ID %q, want the one the application got (%q)", got, requestID)
	}
	allowed := slices.Clone(e.kind.verifyHeaders)
	if e.kind.passesClientHeaders {
		for name := range sent {
			allowed = append(allowed, http.CanonicalHeaderKey(name))
		}
	}
	for name, vals := range v.Header {
		switch {
		case http.CanonicalHeaderKey(name) == "Cookie":
			t.Errorf("sessiond got the client's Cookie %q", vals)
		case identityName(name) != "" || strings.Contains(name, "_"):
			t.Errorf("sessiond got the client's %s: %q", name, vals)
		case !slices.Contains(allowed, http.CanonicalHeaderKey(name)):
			t.Errorf("sessiond got %s: %q; %s should send only %q", name, vals, e.name, allowed)
		}
	}
}

// revokeOne revokes a session that just passed, the way a tenant admin
// does, and returns its token.
func revokeOne(t *testing.T, e *gatewayEnv) (string, *session) {
	carol := e.sessiond.createSession(t, "carol", e.alice.TenantID, e.alice.PartnerID)
	tok := userToken(t, carol)
	e.mustPass(t, tok, carol)
	admin := mint(t, auth.MintOptions{Subject: "tadmin", Role: auth.RoleTenantAdmin, TenantID: carol.TenantID})
	r := e.sessiond.call(t, http.MethodDelete, "/api/v1/tenants/"+carol.TenantID+"/sessions/"+carol.ID, admin, nil)
	if r.status != http.StatusNoContent {
		t.Fatalf("tenant DELETE: %d %s, want 204", r.status, r.body)
	}
	return "Bearer " + tok, nil
}

// revokeBulk revokes all 50 sessions of a user at once, checks that none
// of them passes any more, sent concurrently, and returns one's token.
func revokeBulk(t *testing.T, e *gatewayEnv) (string, *session) {
	const n = 50
	tokens := make([]string, n)
	for i := range n {
		s := e.sessiond.createSession(t, "dave", "tenant-b", "partner-1")
		tokens[i] = userToken(t, s)
		e.mustPass(t, tokens[i], s)
	}
	other := e.sessiond.createSession(t, "erin", "tenant-b", "partner-1")
	r := e.sessiond.call(t, http.MethodPost, "/api/v1/tenants/tenant-b/sessions/users/dave/revoke", mint(t, superAdmin),
		map[string]any{"revoke_all": true})
	if r.status != http.StatusOK {
		t.Fatalf("bulk revoke: %d %s, want 200", r.status, r.body)
	}
	var out wire.Envelope[wire.RevokeResult]
	if err := json.Unmarshal(r.body, &out); err != nil || out.Data.RevokedCount != n {
		t.Fatalf("bulk revoke: %s (%v), want revoked_count %d", r.body, err, n)
	}
	before := e.app.hits.Load()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodGet, e.URL+"/orders/42", nil)
			if err != nil {
				errs <- err
				return
			}
			req.Header.Set("Authorization", "Bearer "+tokens[i])
			res, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				errs <- fmt.Errorf("revoked session %d: %d, want 401", i, res.StatusCode)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := e.app.hits.Load() - before; got != 0 {
		t.Errorf("the application saw %d requests of revoked sessions, want none", got)
	}
	e.mustPass(t, userToken(t, other), other)
	return "Bearer " + tokens[0], nil
}

// expireOne returns the token of a session that passed and then expired.
func expireOne(t *testing.T, e *gatewayEnv) (string, *session) {
	s := e.sessiond.createSessionTTL(t, "brief", e.alice.TenantID, e.alice.PartnerID, 1)
	ends := time.Now().Add(time.Second)
	tok := userToken(t, s)
	e.mustPass(t, tok, s)
	// Redis expires the session at its expires_at (PEXPIREAT).
	time.Sleep(time.Until(ends) + 100*time.Millisecond)
	return "Bearer " + tok, nil
}

// stopRedis stops Redis for the case; it is back, and sessiond with it,
// when the case ends.
func stopRedis(t *testing.T, e *gatewayEnv) (string, *session) {
	tok := userToken(t, e.alice)
	e.redis.Down()
	t.Cleanup(func() {
		e.redis.Up()
		waitVerifyOK(t, e.sessiond, tok)
		e.mustPass(t, tok, e.alice)
	})
	return "Bearer " + tok, nil
}

// stopSessiond makes sessiond unreachable for good: it is the last case.
func stopSessiond(t *testing.T, e *gatewayEnv) (string, *session) {
	e.verify.Down()
	return "Bearer " + userToken(t, e.alice), nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
