package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/auth"
)

func mustMint(tb testing.TB, o auth.MintOptions) string {
	tb.Helper()
	raw, err := auth.MintHS256(testSecret, o)
	if err != nil {
		tb.Fatalf("MintHS256: %v", err)
	}
	return raw
}

func TestMintHS256RoundTrip(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	v := mustVerifier(t, auth.Config{HS256Secret: testSecret, Issuer: testIssuer, Audience: testAudience})
	full := auth.MintOptions{
		Subject: "u1", TenantID: "T", PartnerID: "P", SessionID: "s1", Role: "tenant_admin",
		Scope: "admin:read sessions:read", TokenType: "access", Issuer: testIssuer, Audience: testAudience,
		Platform: true, Now: now,
	}
	tests := []struct {
		name string
		o    auth.MintOptions
		want auth.Principal
	}{
		{"every claim", full, auth.Principal{
			Subject: "u1", TenantID: "T", PartnerID: "P", SessionID: "s1", Role: "tenant_admin", TokenType: "access",
			Scopes: []string{"admin:read", "sessions:read"}, Platform: true, ExpiresAt: now.Add(time.Hour),
		}},
		{"custom TTL", auth.MintOptions{Subject: "u1", Issuer: testIssuer, Audience: testAudience, TTL: 5 * time.Minute, Now: now},
			auth.Principal{Subject: "u1", ExpiresAt: now.Add(5 * time.Minute)}},
		{"not before in the past", auth.MintOptions{Subject: "u1", Issuer: testIssuer, Audience: testAudience, NotBefore: now.Add(-time.Minute), Now: now},
			auth.Principal{Subject: "u1", ExpiresAt: now.Add(time.Hour)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), mustMint(t, tc.o))
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("principal mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMintHS256Refused(t *testing.T) {
	now := time.Now()
	v := mustVerifier(t, auth.Config{HS256Secret: testSecret})
	tests := []struct {
		name string
		o    auth.MintOptions
		want string
	}{
		{"negative TTL", auth.MintOptions{Subject: "u1", TTL: -time.Hour}, "invalid token: token expired"},
		{"issued long ago", auth.MintOptions{Subject: "u1", Now: now.Add(-2 * time.Hour)}, "invalid token: token expired"},
		{"not before in the future", auth.MintOptions{Subject: "u1", NotBefore: now.Add(time.Hour)}, "invalid token: token not valid yet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), mustMint(t, tc.o))
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestMintHS256Claims(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	raw := mustMint(t, auth.MintOptions{Subject: "u1", Now: now})
	got := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, got); err != nil {
		t.Fatalf("parse minted token: %v", err)
	}
	want := jwt.MapClaims{"sub": "u1", "iat": float64(now.Unix()), "exp": float64(now.Add(time.Hour).Unix())}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims mismatch, empty options must be left out (-want +got):\n%s", diff)
	}
}

func TestMintHS256EmptySecret(t *testing.T) {
	if _, err := auth.MintHS256(nil, auth.MintOptions{Subject: "u1"}); err == nil {
		t.Error("got nil error, want one")
	}
}

func TestRoleOptions(t *testing.T) {
	tests := []struct {
		role string
		want auth.MintOptions
		kind auth.Kind
	}{
		{"super_admin", auth.MintOptions{Subject: "admin", Role: "super_admin"}, auth.KindSuperAdmin},
		{"partner_admin", auth.MintOptions{Subject: "admin", Role: "partner_admin"}, auth.KindPartnerAdmin},
		{"tenant_admin", auth.MintOptions{Subject: "admin", Role: "tenant_admin"}, auth.KindTenantAdmin},
		{"user", auth.MintOptions{Subject: "user-1"}, auth.KindUser},
		{"service", auth.MintOptions{Subject: "sessiond-service", TokenType: "client_credentials", Scope: "sessions:read sessions:write"}, auth.KindService},
	}
	v := mustVerifier(t, auth.Config{HS256Secret: testSecret})
	for _, tc := range tests {
		t.Run(tc.role, func(t *testing.T) {
			got, err := auth.RoleOptions(tc.role)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("options mismatch (-want +got):\n%s", diff)
			}
			// What the CLI adds from --tenant, --partner and --sid.
			got.TenantID, got.PartnerID = "T", "P"
			if tc.role == "user" {
				got.SessionID = "s1"
			}
			p, err := v.Verify(context.Background(), mustMint(t, got))
			if err != nil {
				t.Fatalf("verify minted token: got error %v, want nil", err)
			}
			if k := p.Kind(); k != tc.kind {
				t.Errorf("kind: got %v, want %v", k, tc.kind)
			}
		})
	}
}

func TestRoleOptionsUnknown(t *testing.T) {
	for _, role := range []string{"", "admin", "Super_Admin", "platform"} {
		t.Run(role, func(t *testing.T) {
			o, err := auth.RoleOptions(role)
			if err == nil {
				t.Fatalf("got %+v, want an error", o)
			}
			if errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("got %v, want an error unrelated to token checks", err)
			}
		})
	}
}
