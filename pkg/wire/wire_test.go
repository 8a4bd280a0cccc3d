package wire_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/wire"
)

// roundTrip encodes v as the server does and decodes it as pkg/client and
// sessionctl do, into the same type.
func roundTrip[T any](t *testing.T, v T) T {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	var got T
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("unmarshal %T from %s: %v", v, raw, err)
	}
	return got
}

// TestRoundTrip: every response type survives encoding and decoding, at the
// wire's millisecond precision, full and empty.
func TestRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 5, 10, 11, 12, 345_000_000, time.UTC)
	full := map[string]any{
		"Session": wire.Session{
			ID: "s1", UserID: "u1", UserEmail: "u1@example.com", UserDisplayName: "U One", IPAddress: "192.0.2.1",
			UserAgent: "Mozilla/5.0", DeviceType: "desktop", Location: "Berlin", IsCurrent: true,
			CreatedAt: at, LastActivityAt: at.Add(time.Minute), ExpiresAt: at.Add(time.Hour),
			SSOApps: []wire.SSOApp{{ApplicationID: "crm", ApplicationName: "CRM", AccessedAt: at}},
		},
		"SessionListItem": wire.SessionListItem{
			ID: "s1", UserID: "u1", UserEmail: "e", IPAddress: "fe80::1%eth0", UserAgent: "ua", DeviceType: "bot",
			IsCurrent: true, CreatedAt: at, LastActivityAt: at, ExpiresAt: at, AppCount: 3, TenantID: "t1",
		},
		"EndedSession": wire.SessionListItem{
			ID: "s2", UserID: "u1", CreatedAt: at, ExpiresAt: at.Add(time.Hour),
			Ending: wire.Ending{Status: "revoked", EndedAt: &at, RevokedBy: "root", RevokeReason: "admin_revoke"},
		},
		"AuditEntry": wire.AuditEntry{
			ID: "a1", At: at, Actor: "root", ActorRole: "super_admin", Reason: "tenant_revoke_all",
			Target: "tenant", RevokedCount: 12, SessionIDs: []string{"s1", "s2"},
		},
		"RevokeResult": wire.RevokeResult{RevokedCount: 2, SessionIDs: []string{"a", "b"}},
		"Stats": wire.Stats{
			TenantID: "t1", ActiveSessions: 5, ActiveUsers: 2, SessionsByDeviceType: map[string]int64{"desktop": 5},
			SessionsCreatedLast24h: 7, SessionsRevokedLast24h: 2, GeneratedAt: at,
		},
		"Event": wire.Event{
			Type: "session.revoked", SessionID: "s1", UserID: "u1", TenantID: "t1", PartnerID: "p1",
			RevokedAt: at, Reason: "admin_revoke", Actor: "root",
		},
		"Envelope": wire.Envelope[wire.RevokeResult]{
			Data:       wire.RevokeResult{RevokedCount: 1, SessionIDs: []string{"s1"}},
			Pagination: &wire.Pagination{Page: 2, PerPage: 20, TotalItems: 41, TotalPages: 3},
			Meta:       wire.Meta{RequestID: "r1", Timestamp: at},
		},
	}
	check := func(name string, want, got any) {
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s round trip (-sent +decoded):\n%s", name, d)
		}
	}
	check("Session", full["Session"], roundTrip(t, full["Session"].(wire.Session)))
	check("SessionListItem", full["SessionListItem"], roundTrip(t, full["SessionListItem"].(wire.SessionListItem)))
	check("EndedSession", full["EndedSession"], roundTrip(t, full["EndedSession"].(wire.SessionListItem)))
	check("AuditEntry", full["AuditEntry"], roundTrip(t, full["AuditEntry"].(wire.AuditEntry)))
	check("RevokeResult", full["RevokeResult"], roundTrip(t, full["RevokeResult"].(wire.RevokeResult)))
	check("Stats", full["Stats"], roundTrip(t, full["Stats"].(wire.Stats)))
	check("Event", full["Event"], roundTrip(t, full["Event"].(wire.Event)))
	check("Envelope", full["Envelope"], roundTrip(t, full["Envelope"].(wire.Envelope[wire.RevokeResult])))

	// Sub-millisecond digits are not on the wire.
	fine := wire.Meta{RequestID: "r", Timestamp: at.Add(999 * time.Microsecond)}
	check("Meta at ms precision", wire.Meta{RequestID: "r", Timestamp: at}, roundTrip(t, fine))
}

// TestEmptyValues: what is missing is null, an empty list [] and an empty
// map {}, exactly as the reference contract has them.
func TestEmptyValues(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"session", wire.Session{ID: "s", UserID: "u"}, `{"id":"s","user_id":"u","user_email":null,"user_display_name":null,"ip_address":null,"user_agent":null,"device_type":null,"location":null,"is_current":false,"created_at":null,"last_activity_at":null,"expires_at":null,"sso_apps":[]}`},
		{"list item", wire.SessionListItem{ID: "s", UserID: "u"}, `{"id":"s","user_id":"u","user_email":null,"ip_address":null,"user_agent":null,"device_type":null,"is_current":false,"created_at":null,"last_activity_at":null,"expires_at":null,"app_count":0}`},
		{"revoke result", wire.RevokeResult{}, `{"revoked_count":0,"session_ids":[]}`},
		{"audit entry", wire.AuditEntry{ID: "a"}, `{"id":"a","at":null,"actor":"","actor_role":"","reason":"","target":"","revoked_count":0,"session_ids":[]}`},
		{"stats", wire.Stats{TenantID: "t"}, `{"tenant_id":"t","active_sessions":0,"active_users":0,"sessions_by_device_type":{},"sessions_created_last_24h":0,"sessions_revoked_last_24h":0,"generated_at":null}`},
		{"event without partner", wire.Event{Type: "session.revoked", SessionID: "s"}, `{"type":"session.revoked","session_id":"s","user_id":"","tenant_id":"","partner_id":null,"revoked_at":null,"reason":"","actor":""}`},
		{"envelope without pagination", wire.Envelope[int]{Data: 1, Meta: wire.Meta{RequestID: "r"}}, `{"data":1,"meta":{"request_id":"r","timestamp":null}}`},
	}
	for _, tc := range tests {
		raw, err := json.Marshal(tc.v)
		if err != nil || string(raw) != tc.want {
			t.Errorf("%s: got %s (%v), want %s", tc.name, raw, err, tc.want)
		}
	}
}
