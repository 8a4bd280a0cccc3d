package auth

import (
	"errors"

	"github.com/sessiond/sessiond/pkg/session"
)

// Access is what a caller wants to do with what it reaches.
type Access int

// The accesses a request can need.
const (
	Read Access = iota
	Write
)

// String returns "read" or "write".
func (a Access) String() string {
	if a == Write {
		return "write"
	}
	return "read"
}

// ErrForbidden is returned by the reach functions when the caller may not
// make the request at all. Callers compare with errors.Is.
var ErrForbidden = errors.New("forbidden")

// platformAllows applies a platform token's admin scopes: admin:write grants
// both accesses, admin:read grants Read.
func platformAllows(p Principal, a Access) bool {
	if p.HasScope(ScopeAdminWrite) {
		return true
	}
	return a == Read && p.HasScope(ScopeAdminRead)
}

// Admin reports whether the caller may use the admin endpoints
// (/api/v1/admin/sessions…) with access a. Admin roles may, both reading and
// writing (what they see is bounded by NarrowFilter and CanReachSession);
// platform tokens need admin:read to read and admin:write to write. Everyone
// else gets ErrForbidden.
func Admin(p Principal, a Access) error {
	switch p.Kind() {
	case KindSuperAdmin, KindPartnerAdmin, KindTenantAdmin:
		return nil
	case KindPlatform:
		if platformAllows(p, a) {
			return nil
		}
	}
	return ErrForbidden
}

// NarrowFilter narrows a requested admin filter to the caller's reach. A
// partner admin's filter is pinned to its partner and a tenant admin's to its
// tenant; empty is true when the request asked for another partner or tenant,
// so the answer is known to be empty without asking the store. Super admins
// and platform tokens get the filter unchanged. Any other caller should have
// been stopped by Admin; for them empty is always true.
func NarrowFilter(p Principal, f session.Filter) (narrowed session.Filter, empty bool) {
	switch p.Kind() {
	case KindSuperAdmin, KindPlatform:
		return f, false
	case KindPartnerAdmin:
		empty = f.PartnerID != "" && f.PartnerID != p.PartnerID
		f.PartnerID = p.PartnerID
		return f, empty
	case KindTenantAdmin:
		empty = f.TenantID != "" && f.TenantID != p.TenantID
		f.TenantID = p.TenantID
		return f, empty
	default:
		return f, true
	}
}

// CanReachSession reports whether an admin-kind caller may see or act on a
// session of the given tenant and partner. A session it cannot reach should be
// answered exactly like a missing one, so that its existence does not leak.
func CanReachSession(p Principal, tenantID, partnerID string) bool {
	switch p.Kind() {
	case KindSuperAdmin, KindPlatform:
		return true
	case KindPartnerAdmin:
		return partnerID != "" && partnerID == p.PartnerID
	case KindTenantAdmin:
		return tenantID != "" && tenantID == p.TenantID
	default:
		return false
	}
}

// Tenant reports whether the caller may use the tenant endpoints
// (/api/v1/tenants/{tenantID}/…) with access a. tenantPartnerID is the
// partner recorded for the tenant, "" when none is known: a partner admin
// reaches only tenants known to belong to its partner.
func Tenant(p Principal, a Access, tenantID, tenantPartnerID string) error {
	switch p.Kind() {
	case KindSuperAdmin:
		return nil
	case KindPlatform:
		if platformAllows(p, a) {
			return nil
		}
	case KindPartnerAdmin:
		if tenantPartnerID != "" && tenantPartnerID == p.PartnerID {
			return nil
		}
	case KindTenantAdmin:
		if tenantID != "" && tenantID == p.TenantID {
			return nil
		}
	}
	return ErrForbidden
}

// Me reports whether the caller may use /api/v1/me/…, which acts on the
// caller's own sessions and so needs a subject. Platform and service tokens
// act for no user and get ErrForbidden.
func Me(p Principal) error {
	if p.Subject == "" {
		return ErrForbidden
	}
	switch p.Kind() {
	case KindPlatform, KindService:
		return ErrForbidden
	}
	return nil
}

// Internal reports whether the caller may use the internal endpoints that need
// scope (ScopeSessionsRead or ScopeSessionsWrite). Only service tokens may;
// sessions:write also grants sessions:read.
func Internal(p Principal, scope string) error {
	if p.Kind() != KindService {
		return ErrForbidden
	}
	if p.HasScope(scope) || scope == ScopeSessionsRead && p.HasScope(ScopeSessionsWrite) {
		return nil
	}
	return ErrForbidden
}
