// Package auth verifies bearer tokens and decides what a caller may reach.
//
// A Verifier turns a raw JWT into a Principal; the reach functions (Admin,
// NarrowFilter, CanReachSession, Tenant, Me, Internal) are pure and decide,
// from the Principal alone plus what the caller asks for, whether the request
// may proceed.
package auth

import (
	"slices"
	"time"
)

// Roles carried in the role claim.
const (
	RoleSuperAdmin   = "super_admin"
	RolePartnerAdmin = "partner_admin"
	RoleTenantAdmin  = "tenant_admin"
)

// Scopes carried in the scope claim.
const (
	ScopeAdminRead     = "admin:read"
	ScopeAdminWrite    = "admin:write"
	ScopeSessionsRead  = "sessions:read"
	ScopeSessionsWrite = "sessions:write"
)

// TokenTypeClientCredentials is the token_type of service tokens.
const TokenTypeClientCredentials = "client_credentials"

// Principal is the verified caller, built from the claims of a valid token.
type Principal struct {
	Subject   string // sub
	TenantID  string // tenant_id
	PartnerID string // partner_id
	SessionID string // sid
	Role      string // role
	TokenType string // token_type
	Scopes    []string
	// Platform is true when the token carries platform_token: true, a
	// cross-tenant service token.
	Platform  bool
	ExpiresAt time.Time
}

// Kind is the class of caller a Principal belongs to; the reach rules are
// written per kind.
type Kind int

// The kinds of caller, in the order Principal.Kind tries them.
const (
	KindUser Kind = iota
	KindSuperAdmin
	KindPartnerAdmin
	KindTenantAdmin
	KindPlatform
	KindService
)

var kindNames = [...]string{"user", "super_admin", "partner_admin", "tenant_admin", "platform", "service"}

// String returns the kind's name, as used in logs.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "unknown"
	}
	return kindNames[k]
}

// Kind classifies the caller. An admin role only counts with the id that
// bounds it: a partner_admin without partner_id or a tenant_admin without
// tenant_id is judged by the remaining rules, so it never gains a wider reach
// than a plain user.
func (p Principal) Kind() Kind {
	switch {
	case p.Role == RoleSuperAdmin:
		return KindSuperAdmin
	case p.Role == RolePartnerAdmin && p.PartnerID != "":
		return KindPartnerAdmin
	case p.Role == RoleTenantAdmin && p.TenantID != "":
		return KindTenantAdmin
	case p.Platform:
		return KindPlatform
	case p.TokenType == TokenTypeClientCredentials:
		// Only a client-credentials token is a service: a user token that
		// happens to carry a sessions:* scope stays a user.
		return KindService
	default:
		return KindUser
	}
}

// HasScope reports whether the token granted scope s exactly.
func (p Principal) HasScope(s string) bool {
	return slices.Contains(p.Scopes, s)
}
