package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultTTL is the lifetime of a minted token when MintOptions.TTL is zero.
const DefaultTTL = time.Hour

// MintOptions describes a token to mint. Empty strings leave their claim out.
type MintOptions struct {
	Subject   string
	TenantID  string
	PartnerID string
	SessionID string
	Role      string
	Scope     string // space separated
	TokenType string
	Issuer    string
	Audience  string
	Platform  bool
	// TTL is the time from Now to exp; DefaultTTL when zero. A negative TTL
	// mints an already expired token, which tests need.
	TTL time.Duration
	// NotBefore sets nbf when not zero.
	NotBefore time.Time
	// Now is the issue time; time.Now when zero.
	Now time.Time
}

// mintClaims mirrors the claims Verify reads, leaving out empty ones.
type mintClaims struct {
	jwt.RegisteredClaims
	TenantID  string `json:"tenant_id,omitempty"`
	PartnerID string `json:"partner_id,omitempty"`
	Role      string `json:"role,omitempty"`
	Scope     string `json:"scope,omitempty"`
	Platform  bool   `json:"platform_token,omitempty"`
	SessionID string `json:"sid,omitempty"`
	TokenType string `json:"token_type,omitempty"`
}

// MintHS256 signs a token described by o with secret. It is meant for the
// `sessiond token` command, dev mode and tests.
func MintHS256(secret []byte, o MintOptions) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("auth: mint: empty HS256 secret")
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	ttl := o.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	c := mintClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   o.Subject,
			Issuer:    o.Issuer,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		TenantID:  o.TenantID,
		PartnerID: o.PartnerID,
		Role:      o.Role,
		Scope:     o.Scope,
		Platform:  o.Platform,
		SessionID: o.SessionID,
		TokenType: o.TokenType,
	}
	if o.Audience != "" {
		c.Audience = jwt.ClaimStrings{o.Audience}
	}
	if !o.NotBefore.IsZero() {
		c.NotBefore = jwt.NewNumericDate(o.NotBefore)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	return s, nil
}

// RoleOptions returns the MintOptions for a `sessiond token --role` value:
// super_admin, partner_admin, tenant_admin, user or service. The caller fills
// in tenant, partner, session and overrides from the other flags. A service
// token is a client_credentials token with scope "sessions:read
// sessions:write"; a partner or tenant admin still needs its partner or
// tenant id to count as one.
func RoleOptions(role string) (MintOptions, error) {
	switch role {
	case RoleSuperAdmin, RolePartnerAdmin, RoleTenantAdmin:
		return MintOptions{Subject: "admin", Role: role}, nil
	case "user":
		return MintOptions{Subject: "user-1"}, nil
	case "service":
		return MintOptions{
			Subject:   "sessiond-service",
			TokenType: TokenTypeClientCredentials,
			Scope:     ScopeSessionsRead + " " + ScopeSessionsWrite,
		}, nil
	default:
		return MintOptions{}, fmt.Errorf("auth: unknown role %q (want super_admin, partner_admin, tenant_admin, user or service)", role)
	}
}
