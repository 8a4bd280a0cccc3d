package auth_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/session"
)

// checkAllowed fails unless err is nil when allowed, and ErrForbidden when not.
func checkAllowed(tb testing.TB, err error, allowed bool) {
	tb.Helper()
	switch {
	case allowed && err != nil:
		tb.Errorf("got %v, want nil", err)
	case !allowed && !errors.Is(err, auth.ErrForbidden):
		tb.Errorf("got %v, want ErrForbidden", err)
	}
}

func TestAdmin(t *testing.T) {
	tests := []struct {
		name        string
		p           auth.Principal
		read, write bool
	}{
		{"super admin", superAdmin, true, true},
		{"partner admin", partnerAdmin, true, true},
		{"tenant admin", tenantAdmin, true, true},
		{"platform without scope", platformBare, false, false},
		{"platform admin:read", platformRead, true, false},
		{"platform admin:write", platformWrite, true, true},
		{"platform admin:read and admin:write", auth.Principal{Platform: true, Scopes: []string{"admin:read", "admin:write"}}, true, true},
		{"platform with sessions scopes", auth.Principal{Platform: true, Scopes: []string{"sessions:read", "sessions:write"}}, false, false},
		{"service read", serviceRead, false, false},
		{"service write", serviceWrite, false, false},
		{"service with admin scopes", auth.Principal{TokenType: "client_credentials", Scopes: []string{"admin:read", "admin:write"}}, false, false},
		{"user", user, false, false},
		{"user with admin scopes", auth.Principal{Subject: "u", Scopes: []string{"admin:read", "admin:write"}}, false, false},
		{"partner admin without partner id", partnerNoID, false, false},
		{"tenant admin without tenant id", tenantNoID, false, false},
		{"empty principal", auth.Principal{}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/read", func(t *testing.T) { checkAllowed(t, auth.Admin(tc.p, auth.Read), tc.read) })
		t.Run(tc.name+"/write", func(t *testing.T) { checkAllowed(t, auth.Admin(tc.p, auth.Write), tc.write) })
	}
}

func TestNarrowFilter(t *testing.T) {
	tests := []struct {
		name      string
		p         auth.Principal
		in, want  session.Filter
		wantEmpty bool
	}{
		{"super admin, no filter", superAdmin, session.Filter{}, session.Filter{}, false},
		{"super admin, any filter", superAdmin, session.Filter{TenantID: "X", PartnerID: "Y", UserID: "u"}, session.Filter{TenantID: "X", PartnerID: "Y", UserID: "u"}, false},
		{"platform, no filter", platformRead, session.Filter{}, session.Filter{}, false},
		{"platform, any filter", platformWrite, session.Filter{TenantID: "X", PartnerID: "Y"}, session.Filter{TenantID: "X", PartnerID: "Y"}, false},
		{"partner admin, no filter", partnerAdmin, session.Filter{}, session.Filter{PartnerID: "P"}, false},
		{"partner admin, own partner", partnerAdmin, session.Filter{PartnerID: "P"}, session.Filter{PartnerID: "P"}, false},
		{"partner admin, other partner", partnerAdmin, session.Filter{PartnerID: "Q"}, session.Filter{PartnerID: "P"}, true},
		{"partner admin, tenant and user", partnerAdmin, session.Filter{TenantID: "X", UserID: "u"}, session.Filter{TenantID: "X", PartnerID: "P", UserID: "u"}, false},
		{"tenant admin, no filter", tenantAdmin, session.Filter{}, session.Filter{TenantID: "T"}, false},
		{"tenant admin, own tenant", tenantAdmin, session.Filter{TenantID: "T"}, session.Filter{TenantID: "T"}, false},
		{"tenant admin, other tenant", tenantAdmin, session.Filter{TenantID: "X"}, session.Filter{TenantID: "T"}, true},
		{"tenant admin, partner and user", tenantAdmin, session.Filter{PartnerID: "Q", UserID: "u"}, session.Filter{TenantID: "T", PartnerID: "Q", UserID: "u"}, false},
		{"service", serviceWrite, session.Filter{TenantID: "T"}, session.Filter{TenantID: "T"}, true},
		{"user", user, session.Filter{}, session.Filter{}, true},
		{"partner admin without partner id", partnerNoID, session.Filter{}, session.Filter{}, true},
		{"tenant admin without tenant id", tenantNoID, session.Filter{TenantID: "T"}, session.Filter{TenantID: "T"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, empty := auth.NarrowFilter(tc.p, tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("filter mismatch (-want +got):\n%s", diff)
			}
			if empty != tc.wantEmpty {
				t.Errorf("empty: got %v, want %v", empty, tc.wantEmpty)
			}
		})
	}
}

func TestCanReachSession(t *testing.T) {
	tests := []struct {
		name              string
		p                 auth.Principal
		tenantID, partner string
		want              bool
	}{
		{"super admin", superAdmin, "X", "Y", true},
		{"super admin, unknown partner", superAdmin, "X", "", true},
		{"platform", platformRead, "X", "Y", true},
		{"platform without scope", platformBare, "X", "Y", true},
		{"partner admin, own partner", partnerAdmin, "X", "P", true},
		{"partner admin, other partner", partnerAdmin, "X", "Q", false},
		{"partner admin, unknown partner", partnerAdmin, "X", "", false},
		{"tenant admin, own tenant", tenantAdmin, "T", "", true},
		{"tenant admin, own tenant, any partner", tenantAdmin, "T", "Q", true},
		{"tenant admin, other tenant, own partner", tenantAdmin, "X", "P", false},
		{"tenant admin, no tenant", tenantAdmin, "", "P", false},
		{"service", serviceWrite, "T", "P", false},
		{"user, own tenant", user, "T", "P", false},
		{"partner admin without partner id", partnerNoID, "T", "", false},
		{"tenant admin without tenant id", tenantNoID, "T", "P", false},
		{"empty principal, empty session", auth.Principal{}, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := auth.CanReachSession(tc.p, tc.tenantID, tc.partner); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTenant(t *testing.T) {
	tests := []struct {
		name                string
		p                   auth.Principal
		tenantID, partnerID string
		read, write         bool
	}{
		{"super admin", superAdmin, "X", "Y", true, true},
		{"super admin, unknown partner", superAdmin, "X", "", true, true},
		{"platform without scope", platformBare, "X", "Y", false, false},
		{"platform admin:read", platformRead, "X", "Y", true, false},
		{"platform admin:write", platformWrite, "X", "", true, true},
		{"partner admin, tenant of its partner", partnerAdmin, "X", "P", true, true},
		{"partner admin, tenant of another partner", partnerAdmin, "X", "Q", false, false},
		{"partner admin, tenant of unknown partner", partnerAdmin, "X", "", false, false},
		{"tenant admin, own tenant", tenantAdmin, "T", "P", true, true},
		{"tenant admin, own tenant, unknown partner", tenantAdmin, "T", "", true, true},
		{"tenant admin, other tenant of same partner", tenantAdmin, "X", "P", false, false},
		{"service", serviceWrite, "T", "P", false, false},
		{"user, own tenant", user, "T", "P", false, false},
		{"partner admin without partner id", partnerNoID, "T", "", false, false},
		{"tenant admin without tenant id", tenantNoID, "X", "P", false, false},
		{"empty principal, empty tenant", auth.Principal{}, "", "", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/read", func(t *testing.T) {
			checkAllowed(t, auth.Tenant(tc.p, auth.Read, tc.tenantID, tc.partnerID), tc.read)
		})
		t.Run(tc.name+"/write", func(t *testing.T) {
			checkAllowed(t, auth.Tenant(tc.p, auth.Write, tc.tenantID, tc.partnerID), tc.write)
		})
	}
}

func TestMe(t *testing.T) {
	tests := []struct {
		name string
		p    auth.Principal
		want bool
	}{
		{"super admin", superAdmin, true},
		{"partner admin", partnerAdmin, true},
		{"tenant admin", tenantAdmin, true},
		{"platform", platformWrite, false},
		{"service", serviceWrite, false},
		{"user token with a sessions scope", serviceByScope, true},
		{"user", user, true},
		{"user without sid", auth.Principal{Subject: "u"}, true},
		{"user without subject", userNoSubject, false},
		{"super admin without subject", auth.Principal{Role: "super_admin"}, false},
		{"partner admin without partner id", partnerNoID, true},
		{"tenant admin without tenant id", tenantNoID, true},
		{"empty principal", auth.Principal{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkAllowed(t, auth.Me(tc.p), tc.want) })
	}
}

func TestInternal(t *testing.T) {
	tests := []struct {
		name        string
		p           auth.Principal
		read, write bool
	}{
		{"super admin", superAdmin, false, false},
		{"super admin with sessions scopes", auth.Principal{Role: "super_admin", Scopes: []string{"sessions:read", "sessions:write"}}, false, false},
		{"partner admin", partnerAdmin, false, false},
		{"tenant admin", tenantAdmin, false, false},
		{"platform", platformWrite, false, false},
		{"platform with sessions scopes", auth.Principal{Platform: true, Scopes: []string{"sessions:read", "sessions:write"}}, false, false},
		{"service sessions:read", serviceRead, true, false},
		{"service sessions:write", serviceWrite, true, true},
		{"service both scopes", auth.Principal{TokenType: "client_credentials", Scopes: []string{"sessions:read", "sessions:write"}}, true, true},
		{"service without scope", serviceNoScope, false, false},
		{"user token with a sessions scope", serviceByScope, false, false},
		{"user", user, false, false},
		{"user with sessions scope and sid", userWithScope, false, false},
		{"unknown role with sessions scope", unknownRole, false, false},
		{"empty principal", auth.Principal{}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/read", func(t *testing.T) { checkAllowed(t, auth.Internal(tc.p, auth.ScopeSessionsRead), tc.read) })
		t.Run(tc.name+"/write", func(t *testing.T) { checkAllowed(t, auth.Internal(tc.p, auth.ScopeSessionsWrite), tc.write) })
	}
	t.Run("unknown scope", func(t *testing.T) { checkAllowed(t, auth.Internal(serviceWrite, "admin:write"), false) })
	t.Run("empty scope", func(t *testing.T) { checkAllowed(t, auth.Internal(serviceWrite, ""), false) })
}

func TestAccessString(t *testing.T) {
	if got, want := auth.Read.String(), "read"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := auth.Write.String(), "write"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
