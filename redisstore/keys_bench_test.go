package redisstore

import (
	"testing"
	"time"

	"github.com/sessiond/sessiond/pkg/session"
)

// benchUA is a real desktop Chrome user agent, 110 bytes long, as in bench/.
const benchUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.3"

var (
	sinkKey  string
	sinkKeys []string
	sinkArgs []any
	sinkSess session.Session
)

// BenchmarkKeys is the cost of building key names: the one key a verify
// reads, every key one Create touches, and a revocation's per-session keys.
// No Redis involved.
func BenchmarkKeys(b *testing.B) {
	const tenant, sid, uid, pid = "tenant-big", "01936f5c-7e2a-7b3c-9d4e-5f6a7b8c9d0e", "user-000042", "partner-1"
	now := time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC)
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkKey = tenantKeys(tenant).session(sid)
		}
	})
	b.Run("create", func(b *testing.B) {
		b.ReportAllocs()
		keys := make([]string, 0, 12)
		for b.Loop() {
			k := tenantKeys(tenant)
			keys = append(keys[:0],
				pointerKey(sid), k.partner(), userTenantsKey(uid), partnerTenantsKey(pid),
				k.session(sid), k.all(), k.user(uid), k.device("desktop"),
				k.users(), k.created(now), k.outbox())
			sinkKeys = keys
		}
	})
	b.Run("revoke-one", func(b *testing.B) {
		b.ReportAllocs()
		keys := make([]string, 0, 4)
		for b.Loop() {
			k := tenantKeys(tenant)
			keys = append(keys[:0], k.session(sid), pointerKey(sid), viewMember(tenant, sid), k.revoked(now))
			sinkKeys = keys
		}
	})
}

// BenchmarkCodec is the store's encoding of a session into hash fields
// (Create) and back (Get, List, verify), with a realistic 110-byte user agent.
func BenchmarkCodec(b *testing.B) {
	now := time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC)
	s := &session.Session{
		ID: "01936f5c-7e2a-7b3c-9d4e-5f6a7b8c9d0e", UserID: "user-000042", TenantID: "tenant-big", PartnerID: "partner-1",
		UserEmail: "user-000042@example.com", UserDisplayName: "Ada Lovelace", IPAddress: "203.0.113.42",
		UserAgent: benchUA, DeviceType: "desktop", Location: "Berlin, DE",
		CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour),
	}
	fields := encodeFields(s)
	h := map[string]string{fUser: s.UserID, fPartner: s.PartnerID}
	for i := 0; i+1 < len(fields); i += 2 {
		h[fields[i].(string)] = fields[i+1].(string)
	}
	if _, ok := decode(s.TenantID, s.ID, h); !ok {
		b.Fatalf("decode of %v: not ok", h)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkArgs = encodeFields(s)
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkSess, _ = decode(s.TenantID, s.ID, h)
		}
	})
}
