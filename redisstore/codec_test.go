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

func TestAtoi(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{{"", 0}, {"0", 0}, {"1764153600000", 1764153600000}, {"-5", -5}, {"12x", 0}, {"99999999999999999999", 9223372036854775807}} {
		if got := atoi(tc.in); got != tc.want {
			t.Errorf("atoi(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestDecodeDoesNotAllocate: decoding the hash of a session without
// applications (what verify reads) allocates nothing, whichever optional
// numeric fields are absent. Allocation counts are exact, not timings.
func TestDecodeDoesNotAllocate(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    map[string]string
	}{
		{"fresh session", map[string]string{fUser: "u1", fCreated: "1764153600000", fExpires: "1764240000000"}},
		{"idle timeout", map[string]string{fUser: "u1", fCreated: "1764153600000", fExpires: "1764240000000", fAbsExpires: "1764340000000", fIdle: "3600000", fLastActive: "1764153700000"}},
		{"every text field", map[string]string{fUser: "u1", fEmail: "u1@example.com", fDisplayName: "Ada", fIP: "203.0.113.7", fUserAgent: "Mozilla/5.0", fDevice: "desktop", fLocation: "Berlin, DE", fCreated: "1764153600000", fExpires: "1764240000000"}},
		{"one application", map[string]string{fUser: "u1", fCreated: "1764153600000", fExpires: "1764240000000", appPrefix + "app1": "1764153700000|Mail"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := decode("t1", "s1", tc.h); !ok {
				t.Fatal("decode: not ok")
			}
			want := 0.0
			if tc.name == "one application" {
				want = 1 // the Apps slice
			}
			if got := testing.AllocsPerRun(100, func() { sinkSess, _ = decode("t1", "s1", tc.h) }); got != want {
				t.Errorf("%v allocations per decode, want %v", got, want)
			}
		})
	}
}
