package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/session"
)

// TestDecodeFieldNames: hashes written before the field names were
// shortened, before the partner moved to tp:{T} and before `ae` was left out
// when equal to `e` read back as the same session as new ones.
func TestDecodeFieldNames(t *testing.T) {
	c, e := time.UnixMilli(1735000000000).UTC(), time.UnixMilli(1735086400000).UTC()
	want := session.Session{
		ID: "s1", TenantID: "t", UserID: "u1", PartnerID: "p1", UserEmail: "u1@example.com",
		UserDisplayName: "Ada", IPAddress: "203.0.113.7", UserAgent: "curl/8", DeviceType: "bot",
		Location: "Berlin", CreatedAt: c, ExpiresAt: e, AbsoluteExpiresAt: e,
	}
	cases := []struct {
		name string
		h    map[string]string
	}{
		{"legacy names", map[string]string{"u": "u1", "p": "p1", "em": "u1@example.com", "dn": "Ada", "ip": "203.0.113.7",
			"ua": "curl/8", "dt": "bot", "loc": "Berlin", "c": "1735000000000", "e": "1735086400000", "ae": "1735086400000"}},
		{"short names", map[string]string{"u": "u1", "m": "u1@example.com", "n": "Ada", "i": "203.0.113.7",
			"a": "curl/8", "dt": "bot", "l": "Berlin", "c": "1735000000000", "e": "1735086400000"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := decode("t", "s1", tc.h)
			got.PartnerID = partnerOf("p1", got.PartnerID)
			if diff := cmp.Diff(want, got); !ok || diff != "" {
				t.Errorf("decode ok=%v (-want +got):\n%s", ok, diff)
			}
		})
	}
	// Encoding then decoding is the identity.
	w := want
	h := map[string]string{fUser: w.UserID}
	f := encodeFields(&w)
	for i := 0; i+1 < len(f); i += 2 {
		h[f[i].(string)] = f[i+1].(string)
	}
	got, _ := decode("t", "s1", h)
	got.PartnerID = partnerOf("p1", got.PartnerID)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// TestTouchLegacyHash: activity on a hash with the legacy ip field replaces
// it by the short one.
func TestTouchLegacyHash(t *testing.T) {
	rdb := srv.NewClient(t)
	ctx := context.Background()
	st := New(rdb, Options{})
	s := newSession("tl", "", "u", time.Hour)
	mustCreate(t, st, s)
	k := tenantKeys("tl").session(s.ID)
	if err := rdb.HDel(ctx, k, fIP).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, k, "ip", "198.51.100.1").Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Get(ctx, s.ID); err != nil || got.IPAddress != "198.51.100.1" {
		t.Fatalf("legacy ip read as %q, %v", got.IPAddress, err)
	}
	if err := st.Touch(ctx, "tl", s.ID, session.Activity{IPAddress: "198.51.100.2"}); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Get(ctx, s.ID); err != nil || got.IPAddress != "198.51.100.2" {
		t.Errorf("ip after touch %q, %v; want 198.51.100.2", got.IPAddress, err)
	}
	if n, _ := rdb.HExists(ctx, k, "ip").Result(); n {
		t.Error("legacy ip field left after touch")
	}
}
