package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/auth"
)

// set returns a copy of c with claim k set to v; unlike with, a nil v keeps
// the claim, as a JSON null.
func set(c jwt.MapClaims, k string, v any) jwt.MapClaims {
	out := with(c)
	out[k] = v
	return out
}

// TestVerifyIdentityClaims: a tenant_id, partner_id or sid claim that is
// present but no valid id, and a missing, empty, padded or overlong sub,
// make the token invalid, whatever its role or type: a present claim is
// never read as an absent one. Refused tokens are not cached.
func TestVerifyIdentityClaims(t *testing.T) {
	now := time.Now()
	v := mustVerifier(t, auth.Config{HS256Secret: testSecret, Issuer: testIssuer, Audience: testAudience})
	valid := claimsAt(now)
	admin := with(valid, "role", "super_admin", "tenant_id", nil, "sid", nil)
	platform := with(valid, "platform_token", true, "scope", "admin:write", "tenant_id", nil, "sid", nil)
	service := with(valid, "token_type", "client_credentials", "scope", "sessions:write", "tenant_id", nil, "sid", nil)
	const (
		badSub    = "missing or invalid sub"
		badID     = "invalid tenant_id, partner_id or sid"
		malformed = "malformed token"
	)
	tests := []struct {
		name string
		c    jwt.MapClaims
		want string
	}{
		{"tenant_id with a trailing space", set(valid, "tenant_id", "t1 "), badID},
		{"tenant_id with a leading space", set(valid, "tenant_id", " t1"), badID},
		{"empty tenant_id", set(valid, "tenant_id", ""), badID},
		{"null tenant_id", set(valid, "tenant_id", nil), badID},
		{"tenant_id ..", set(valid, "tenant_id", ".."), badID},
		{"tenant_id .", set(valid, "tenant_id", "."), badID},
		{"tenant_id with a brace", set(valid, "tenant_id", "t{1}"), badID},
		{"tenant_id of 129", set(valid, "tenant_id", strings.Repeat("t", 129)), badID},
		{"tenant_id list", set(valid, "tenant_id", []string{"t1"}), malformed},
		{"tenant_id number", set(valid, "tenant_id", 1), malformed},
		{"empty partner_id", set(admin, "partner_id", ""), badID},
		{"null partner_id", set(admin, "partner_id", nil), badID},
		{"partner_id with a trailing space", set(admin, "partner_id", "p1 "), badID},
		{"partner_id ...", set(admin, "partner_id", "..."), badID},
		{"partner_id list", set(admin, "partner_id", []any{"p1"}), malformed},
		{"empty sid", set(valid, "sid", ""), badID},
		{"null sid", set(valid, "sid", nil), badID},
		{"sid with a dot", set(valid, "sid", "s.1"), badID},
		{"sid ..", set(valid, "sid", ".."), badID},
		{"sid of 129", set(valid, "sid", strings.Repeat("s", 129)), badID},
		{"sid number", set(valid, "sid", 7), malformed},
		{"sid list", set(valid, "sid", []string{"s1"}), malformed},
		{"user without sub", with(valid, "sub", nil), badSub},
		{"user with empty sub", set(valid, "sub", ""), badSub},
		{"user with null sub", set(valid, "sub", nil), badSub},
		{"super admin without sub", with(admin, "sub", nil), badSub},
		{"super admin with empty sub", set(admin, "sub", ""), badSub},
		{"platform token without sub", with(platform, "sub", nil), badSub},
		{"service token without sub", with(service, "sub", nil), badSub},
		{"padded sub", set(admin, "sub", " root"), badSub},
		{"sub with a trailing newline", set(admin, "sub", "root\n"), badSub},
		{"sub of 257", set(valid, "sub", strings.Repeat("u", 257)), badSub},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := mustSign(t, jwt.SigningMethodHS256, testSecret, "", tc.c)
			// Twice: a refused token must not be served from the cache.
			for range 2 {
				p, err := v.Verify(context.Background(), raw)
				if !errors.Is(err, auth.ErrInvalidToken) {
					t.Fatalf("got %+v, %v, want an error wrapping ErrInvalidToken", p, err)
				}
				if got, want := err.Error(), "invalid token: "+tc.want; got != want {
					t.Errorf("got %q, want %q", got, want)
				}
			}
		})
	}
	if n := auth.CachedTokens(v); n != 0 {
		t.Errorf("cached tokens after refusals: got %d, want 0", n)
	}
}

// TestVerifyIdentityClaimsAccepted: absent identity claims and valid ids at
// the edges of the grammar still pass.
func TestVerifyIdentityClaimsAccepted(t *testing.T) {
	now := time.Now()
	v := mustVerifier(t, auth.Config{HS256Secret: testSecret, Issuer: testIssuer, Audience: testAudience})
	valid := claimsAt(now)
	tests := []struct {
		name string
		c    jwt.MapClaims
		want auth.Principal
	}{
		{"no tenant_id, partner_id or sid", with(valid, "tenant_id", nil, "sid", nil, "role", "super_admin"),
			auth.Principal{Subject: "user-1", Role: "super_admin"}},
		{"dotted ids", with(valid, "tenant_id", "..t", "partner_id", "p.1."),
			auth.Principal{Subject: "user-1", TenantID: "..t", PartnerID: "p.1.", SessionID: "s1"}},
		{"longest ids", with(valid, "sub", strings.Repeat("u", 256), "tenant_id", strings.Repeat("t", 128), "sid", strings.Repeat("s", 128)),
			auth.Principal{Subject: strings.Repeat("u", 256), TenantID: strings.Repeat("t", 128), SessionID: strings.Repeat("s", 128)}},
		{"provider subject", with(valid, "sub", "auth0|5f7c8ec7"),
			auth.Principal{Subject: "auth0|5f7c8ec7", TenantID: "t1", SessionID: "s1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), mustSign(t, jwt.SigningMethodHS256, testSecret, "", tc.c))
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			got.ExpiresAt = time.Time{}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
		})
	}
}
