package auth_test

import (
	"testing"

	"github.com/sessiond/sessiond/pkg/auth"
)

// The callers the reach tables are written for: one or more per kind, plus
// the look-alikes that must fall through to a narrower kind.
var (
	superAdmin     = auth.Principal{Subject: "root", Role: "super_admin"}
	partnerAdmin   = auth.Principal{Subject: "padmin", Role: "partner_admin", PartnerID: "P"}
	tenantAdmin    = auth.Principal{Subject: "tadmin", Role: "tenant_admin", TenantID: "T", PartnerID: "P"}
	platformBare   = auth.Principal{Subject: "platform", Platform: true}
	platformRead   = auth.Principal{Subject: "platform", Platform: true, Scopes: []string{"admin:read"}}
	platformWrite  = auth.Principal{Subject: "platform", Platform: true, Scopes: []string{"admin:write"}}
	serviceRead    = auth.Principal{Subject: "gateway", TokenType: "client_credentials", Scopes: []string{"sessions:read"}}
	serviceWrite   = auth.Principal{Subject: "idp", TokenType: "client_credentials", Scopes: []string{"sessions:write"}}
	serviceNoScope = auth.Principal{Subject: "svc", TokenType: "client_credentials"}
	serviceByScope = auth.Principal{Subject: "svc", Scopes: []string{"openid", "sessions:read"}}
	user           = auth.Principal{Subject: "u1", TenantID: "T", SessionID: "s1"}
	userNoSubject  = auth.Principal{TenantID: "T", SessionID: "s1"}
	partnerNoID    = auth.Principal{Subject: "u2", Role: "partner_admin", TenantID: "T"}
	tenantNoID     = auth.Principal{Subject: "u3", Role: "tenant_admin", PartnerID: "P"}
	userWithScope  = auth.Principal{Subject: "u4", SessionID: "s4", Scopes: []string{"sessions:write"}}
	unknownRole    = auth.Principal{Subject: "u5", Role: "owner", Scopes: []string{"sessions:read"}}
)

func TestKind(t *testing.T) {
	tests := []struct {
		name string
		p    auth.Principal
		want auth.Kind
	}{
		{"super admin", superAdmin, auth.KindSuperAdmin},
		{"super admin with platform flag", auth.Principal{Role: "super_admin", Platform: true}, auth.KindSuperAdmin},
		{"partner admin", partnerAdmin, auth.KindPartnerAdmin},
		{"tenant admin", tenantAdmin, auth.KindTenantAdmin},
		{"platform without scope", platformBare, auth.KindPlatform},
		{"platform read", platformRead, auth.KindPlatform},
		{"platform with service token type", auth.Principal{Platform: true, TokenType: "client_credentials"}, auth.KindPlatform},
		{"service read", serviceRead, auth.KindService},
		{"service write", serviceWrite, auth.KindService},
		{"service without scope", serviceNoScope, auth.KindService},
		{"user token with a sessions scope is no service", serviceByScope, auth.KindUser},
		{"user", user, auth.KindUser},
		{"user without subject", userNoSubject, auth.KindUser},
		{"empty principal", auth.Principal{}, auth.KindUser},
		{"partner admin without partner id", partnerNoID, auth.KindUser},
		{"tenant admin without tenant id", tenantNoID, auth.KindUser},
		{"tenant admin without tenant id on a platform token", auth.Principal{Role: "tenant_admin", Platform: true}, auth.KindPlatform},
		{"partner admin without partner id, service token type", auth.Principal{Role: "partner_admin", TokenType: "client_credentials"}, auth.KindService},
		{"sessions scope with sid", userWithScope, auth.KindUser},
		{"sessions scope with unknown role", unknownRole, auth.KindUser},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Kind(); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		k    auth.Kind
		want string
	}{
		{auth.KindUser, "user"},
		{auth.KindSuperAdmin, "super_admin"},
		{auth.KindPartnerAdmin, "partner_admin"},
		{auth.KindTenantAdmin, "tenant_admin"},
		{auth.KindPlatform, "platform"},
		{auth.KindService, "service"},
		{auth.Kind(-1), "unknown"},
		{auth.Kind(42), "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.k.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHasScope(t *testing.T) {
	p := auth.Principal{Scopes: []string{"admin:read", "sessions:write"}}
	tests := []struct {
		scope string
		want  bool
	}{
		{"admin:read", true},
		{"sessions:write", true},
		{"admin:write", false},
		{"admin", false},
		{"", false},
	}
	for _, tc := range tests {
		t.Run(tc.scope, func(t *testing.T) {
			if got := p.HasScope(tc.scope); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
