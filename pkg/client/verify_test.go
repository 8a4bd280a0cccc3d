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

func TestVerify(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tenant := uniq("t")
	withPartner := e.mustCreate(t, client.CreateSessionRequest{UserID: "alice", TenantID: tenant, PartnerID: "p9"})
	tenant2 := uniq("t")
	noPartner := e.mustCreate(t, client.CreateSessionRequest{UserID: "bob", TenantID: tenant2})
	c := e.anon

	tests := []struct {
		name  string
		token string
		want  client.Identity
	}{
		{name: "with partner", token: userToken(t, withPartner, tenant),
			want: client.Identity{SessionID: withPartner.ID, UserID: "alice", TenantID: tenant, PartnerID: "p9"}},
		// Without tenant_id in the token the server looks the session up by id.
		{name: "token without tenant", token: mint(t, auth.MintOptions{Subject: "bob", SessionID: noPartner.ID}),
			want: client.Identity{SessionID: noPartner.ID, UserID: "bob", TenantID: tenant2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Verify(ctx, tc.token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestVerifyUnauthorized(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tenant := uniq("t")
	live := e.mustCreate(t, client.CreateSessionRequest{UserID: "alice", TenantID: tenant})
	revoked := e.mustCreate(t, client.CreateSessionRequest{UserID: "alice", TenantID: tenant})
	if err := e.admin.RevokeSession(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	wrongKey, err := auth.MintHS256([]byte("another-secret-0123456789abcdef0123"), auth.MintOptions{Subject: "alice", TenantID: tenant, SessionID: live.ID})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token, wantReason string
		// wantDetail is wantReason when "".
		wantDetail string
	}{
		// RFC 6750 §3.1: no error code, so no description, without credentials.
		{name: "no token", token: "", wantReason: "", wantDetail: "missing bearer token"},
		{name: "garbage", token: "not-a-jwt", wantReason: "malformed token"},
		{name: "wrong key", token: wrongKey, wantReason: "signature invalid"},
		{name: "expired", token: mint(t, auth.MintOptions{Subject: "alice", TenantID: tenant, SessionID: live.ID, TTL: -time.Hour}), wantReason: "token expired"},
		{name: "no sid", token: mint(t, auth.MintOptions{Subject: "alice", TenantID: tenant}), wantReason: "token has no valid sid"},
		{name: "revoked session", token: userToken(t, revoked, tenant), wantReason: "session revoked or expired"},
		{name: "unknown session", token: mint(t, auth.MintOptions{Subject: "alice", TenantID: tenant, SessionID: "never-was"}), wantReason: "session revoked or expired"},
		{name: "another user's session", token: mint(t, auth.MintOptions{Subject: "mallory", TenantID: tenant, SessionID: live.ID}), wantReason: "session belongs to another user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := e.anon.Verify(ctx, tc.token)
			checkSentinel(t, err, client.ErrUnauthorized)
			if id != (client.Identity{}) {
				t.Errorf("got identity %+v with an error, want none", id)
			}
			var ce *client.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %T %v, want *client.Error", err, err)
			}
			wantDetail := tc.wantDetail
			if wantDetail == "" {
				wantDetail = tc.wantReason
			}
			if ce.Status != http.StatusUnauthorized || ce.Reason != tc.wantReason || ce.Detail != wantDetail {
				t.Errorf("got %d reason %q detail %q, want 401 reason %q detail %q", ce.Status, ce.Reason, ce.Detail, tc.wantReason, wantDetail)
			}
		})
	}
}

func TestVerifyUnavailable(t *testing.T) {
	ctx := context.Background()
	t.Run("redis stopped", func(t *testing.T) {
		e, dedicated := newEnvOnOwnRedis(t)
		tenant := uniq("t")
		s := e.mustCreate(t, client.CreateSessionRequest{UserID: "alice", TenantID: tenant})
		tok := userToken(t, s, tenant)
		if _, err := e.anon.Verify(ctx, tok); err != nil {
			t.Fatalf("Verify with Redis up: %v", err)
		}
		if err := dedicated.Stop(); err != nil {
			t.Fatal(err)
		}
		id, err := e.anon.Verify(ctx, tok)
		checkSentinel(t, err, client.ErrUnavailable)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable {
			t.Errorf("got %v, want a 503 *Error", err)
		}
		if id != (client.Identity{}) {
			t.Errorf("got identity %+v with an error, want none", id)
		}
	})
	t.Run("closed port", func(t *testing.T) {
		_, err := mustClient(t, testserver.ClosedURL(t)).Verify(ctx, "token")
		checkSentinel(t, err, client.ErrUnavailable)
	})
	t.Run("200 without identity", func(t *testing.T) {
		// Fail safe: a proxy's 200 proves nothing.
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		t.Cleanup(srv.Close)
		_, err := mustClient(t, srv.URL).Verify(ctx, "token")
		checkSentinel(t, err, client.ErrUnavailable)
	})
}

func TestVerifySendsUserToken(t *testing.T) {
	var gotAuth, gotUA string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotUA = r.Header.Get("Authorization"), r.Header.Get("User-Agent")
		w.Header().Set("X-Session-Id", "s")
		w.Header().Set("X-User-Id", "u")
	}))
	t.Cleanup(srv.Close)
	c := mustClient(t, srv.URL, client.WithToken("service-token"), client.WithUserAgent("gw/1.0"))
	if _, err := c.Verify(context.Background(), "user-token"); err != nil {
		t.Fatal(err)
	}
	if gotAuth != "Bearer user-token" || gotUA != "gw/1.0" {
		t.Errorf("got Authorization %q User-Agent %q, want %q %q", gotAuth, gotUA, "Bearer user-token", "gw/1.0")
	}
}
