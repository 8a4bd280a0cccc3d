package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// TestViewShardSlots: the shards' slots are spread so that masters owning
// equal slot ranges hold equal numbers of shards when N is a multiple of the
// masters, and every instance names the same keys.
func TestViewShardSlots(t *testing.T) {
	if got := crc16("123456789"); got != 0x31C3 {
		t.Fatalf("crc16(123456789) = %#x, want 0x31c3 (CRC16-CCITT XMODEM)", got)
	}
	for _, n := range []int{2, 3, 4, 6, 12, 24, 64} {
		v := newViewLayout(n)
		for _, base := range []string{"", "partner-7"} {
			keys := v.shards(base)
			if len(keys) != n || !slices.Equal(keys, newViewLayout(n).shards(base)) {
				t.Fatalf("N=%d %q: %d keys, not the same on another layout", n, base, len(keys))
			}
			for masters := 2; masters <= n; masters++ {
				if n%masters != 0 {
					continue
				}
				per := make([]int, masters)
				for _, k := range keys {
					per[int(crc16(hashTag(k)))%slotCount*masters/slotCount]++
				}
				for m, c := range per {
					if c != n/masters {
						t.Errorf("N=%d %q over %d equal masters: master %d holds %d shards, want %d", n, base, masters, m, c, n/masters)
					}
				}
			}
		}
	}
	if got := newViewLayout(1).shards("p"); !slices.Equal(got, []string{partnerViewKey("p")}) {
		t.Errorf("N=1 partner view %v, want the single key", got)
	}
}

// TestViewShardsUpgrade: data written in the single-key layout is listed
// exactly by a Store with shards before anything moved (the single keys
// are read as one more shard), touched and revoked there, then moved by
// Upgrade (global view) and the sweep (partner views); the layout is
// recorded, and a Store with another number of shards refuses to run.
func TestViewShardsUpgrade(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		old := New(rdb, Options{ViewShards: 1})
		if _, err := old.Upgrade(ctx); err != nil {
			t.Fatalf("upgrade of the single-key layout: %v", err)
		}
		var made []*session.Session
		for i := range 40 {
			s := newSession(fmt.Sprintf("t%d", i%4), fmt.Sprintf("p%d", i%2), fmt.Sprintf("u%d", i), time.Duration(i+1)*time.Minute)
			if i == 0 {
				s.IdleTimeout = 10 * time.Minute
				s.AbsoluteExpiresAt = s.ExpiresAt.Add(time.Hour)
			}
			mustCreate(t, old, s)
			made = append(made, s)
		}
		st := New(rdb, Options{ViewShards: 8})
		// The global view and p0's (p0 loses no session below).
		listsAll := func(when string, want int) {
			t.Helper()
			for _, f := range []session.Filter{{}, {PartnerID: "p0"}} {
				n := want
				if f.PartnerID != "" {
					n = 20
				}
				for _, per := range []int{3, 7, 100} {
					var got []string
					for page := 1; ; page++ {
						r := mustList(t, st, f, page, per)
						if r.Total != int64(n) {
							t.Fatalf("%s: %+v page %d: total %d, want %d", when, f, page, r.Total, n)
						}
						if len(r.Items) == 0 {
							break
						}
						got = append(got, ids(r.Items)...)
					}
					if len(got) != n || len(slices.Compact(slices.Sorted(slices.Values(got)))) != n {
						t.Fatalf("%s: %+v per %d: listed %d distinct of %d", when, f, per, len(got), n)
					}
				}
			}
		}
		listsAll("before the upgrade", 40)

		// A touch and a revocation (of two p1 sessions of t1) by the new
		// Store reach the legacy keys.
		at := made[0].ExpiresAt.Add(-time.Second)
		if err := st.Touch(ctx, made[0].TenantID, made[0].ID, session.Activity{At: at}); err != nil {
			t.Fatal(err)
		}
		want := ms(at.Add(10 * time.Minute))
		for _, p := range []string{"", made[0].PartnerID} {
			if sc := viewScore(t, st, rdb, p, made[0].TenantID, made[0].ID); sc != want {
				t.Errorf("view %q: touched session scored %d, want %d", p, sc, want)
			}
		}
		if _, err := st.Revoke(ctx, session.Revocation{IDs: []string{made[1].ID, made[5].ID}, Filter: session.Filter{TenantID: made[1].TenantID}}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"", made[1].PartnerID} {
			if sc := viewScore(t, st, rdb, p, made[1].TenantID, made[1].ID); sc != 0 {
				t.Errorf("view %q keeps the revoked session (score %d)", p, sc)
			}
		}
		listsAll("after a revocation", 38)

		res, err := st.Upgrade(ctx)
		if err != nil || res.Views != 38 {
			t.Fatalf("upgrade: %+v, %v; want 38 view members moved", res, err)
		}
		if _, err := st.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{globalViewKey, partnerViewKey("p0"), partnerViewKey("p1")} {
			if n, _ := rdb.Exists(ctx, key).Result(); n != 0 {
				t.Errorf("legacy key %s left after the upgrade and a sweep", key)
			}
		}
		for _, p := range []string{"", "p0", "p1"} {
			for _, z := range viewOf(t, st, rdb, p) {
				_, sid, _ := splitMember(z.Member.(string))
				if n, _ := rdb.ZCount(ctx, st.views.key(p, sid), "-inf", "+inf").Result(); n == 0 {
					t.Errorf("view %q: %s is not in its shard", p, sid)
				}
			}
		}
		listsAll("after the upgrade", 38)
		if got, _ := rdb.Get(ctx, viewLayoutKey).Result(); got != "8" {
			t.Errorf("recorded layout %q, want 8", got)
		}
		for _, n := range []int{1, 4, 12} {
			if _, err := New(rdb, Options{ViewShards: n}).Upgrade(ctx); !errors.Is(err, ErrViewLayout) {
				t.Errorf("a Store with %d shards on data in 8: %v, want ErrViewLayout", n, err)
			}
		}
		if _, err := New(rdb, Options{ViewShards: 8}).Upgrade(ctx); err != nil {
			t.Errorf("a Store with the recorded 8 shards: %v", err)
		}
	})
}

// TestClusterViewShardsSpread: on a cluster of three masters, the default
// shards of the global and of a partner's view sit four on each master,
// where the cluster's own slot map puts them.
func TestClusterViewShardsSpread(t *testing.T) {
	rdb := clusterClient(t)
	ctx := context.Background()
	st := New(rdb, Options{})
	for _, p := range []string{"", "acme-partner"} {
		perMaster := map[string]int{}
		for _, key := range st.views.shards(p) {
			slot, err := rdb.ClusterKeySlot(ctx, key).Result()
			if err != nil {
				t.Fatal(err)
			}
			if slot != int64(crc16(hashTag(key))%slotCount) {
				t.Fatalf("%s: the cluster hashes it to slot %d, crc16 says %d", key, slot, crc16(hashTag(key))%slotCount)
			}
			m, err := rdb.MasterForKey(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			perMaster[m.Options().Addr]++
		}
		if len(perMaster) != 3 {
			t.Fatalf("view %q: shards on %d masters (%v), want 3", p, len(perMaster), perMaster)
		}
		for addr, n := range perMaster {
			if n != len(st.views.shards(p))/3 {
				t.Errorf("view %q: master %s holds %d shards, want %d", p, addr, n, len(st.views.shards(p))/3)
			}
		}
	}
}
