package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/wire"
	"github.com/sessiond/sessiond/redisstore"
)

// secret signs the tokens sessiond accepts.
var secret = testserver.Secret

// sessiond is sessiond served in-process on a loopback port, wired as
// cmd/sessiond wires it.
type sessiond struct {
	URL  string // http://127.0.0.1:port
	Addr string // 127.0.0.1:port
}

// startSessiond serves the real router (handlers.New) on rdb. Everything it
// starts is stopped when the test ends.
func startSessiond(t *testing.T, rdb redis.UniversalClient) *sessiond {
	t.Helper()
	srv := testserver.New(t, rdb, testserver.Options{Events: true, BrokerWait: time.Second, Serve: true})
	return &sessiond{URL: srv.URL, Addr: srv.Addr}
}

// connect is a client made the way cmd/sessiond makes it, with a short
// timeout so that an unreachable Redis shows quickly.
func connect(t *testing.T, addr string) redis.UniversalClient {
	t.Helper()
	rdb, err := redisstore.Connect(redisstore.ConnectOptions{URL: "redis://" + addr + "/0", Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Callers' tokens.
var (
	superAdmin = auth.MintOptions{Subject: "admin-1", Role: auth.RoleSuperAdmin}
	service    = auth.MintOptions{
		Subject: "idp", TokenType: auth.TokenTypeClientCredentials,
		Scope: auth.ScopeSessionsRead + " " + auth.ScopeSessionsWrite,
	}
)

func mint(t *testing.T, o auth.MintOptions) string {
	t.Helper()
	return mintWith(t, secret, o)
}

func mintWith(t *testing.T, key []byte, o auth.MintOptions) string {
	t.Helper()
	tok, err := auth.MintHS256(key, o)
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return tok
}

// userToken is the token an identity provider hands out for session sid.
func userToken(t *testing.T, s session) string {
	t.Helper()
	return mint(t, auth.MintOptions{Subject: s.UserID, TenantID: s.TenantID, PartnerID: s.PartnerID, SessionID: s.ID})
}

// session is what the tests need to know of a created session.
type session struct {
	ID, UserID, TenantID, PartnerID string
}

// createSession creates a session through the internal API, as the
// identity provider does at login.
func (s *sessiond) createSession(t *testing.T, userID, tenantID, partnerID string) session {
	t.Helper()
	return s.createSessionTTL(t, userID, tenantID, partnerID, 3600)
}

func (s *sessiond) createSessionTTL(t *testing.T, userID, tenantID, partnerID string, ttlSeconds int) session {
	t.Helper()
	body := map[string]any{"user_id": userID, "tenant_id": tenantID, "ttl_seconds": ttlSeconds}
	if partnerID != "" {
		body["partner_id"] = partnerID
	}
	res := s.call(t, http.MethodPost, "/api/v1/internal/sessions", mint(t, service), body)
	if res.status != http.StatusCreated {
		t.Fatalf("create session: %d %s", res.status, res.body)
	}
	var out wire.Envelope[wire.Session]
	if err := json.Unmarshal(res.body, &out); err != nil || out.Data.ID == "" {
		t.Fatalf("create session: decode %s: %v", res.body, err)
	}
	return session{ID: out.Data.ID, UserID: userID, TenantID: tenantID, PartnerID: partnerID}
}

// response is a read response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// call sends one request to sessiond itself (not through a gateway).
func (s *sessiond) call(t *testing.T, method, path, token string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

// client has a deadline, so that a hung gateway fails the test instead of
// hanging it.
var client = &http.Client{Timeout: 10 * time.Second}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}
