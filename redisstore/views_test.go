package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// TestPageAcrossSets: a page of the union of several sorted sets is exactly
// the slice of their merge (score, then member, descending; expired members
// left out), at every offset and size, for sets that are even like a view's
// shards, uneven like a user's tenants, or a mix with a legacy key, with
// runs of equal scores; the total is exact. The three ways a page is found
// (from the top, around a pivot, around a pivot then exactly) all answer.
func TestPageAcrossSets(t *testing.T) {
	cases := []struct {
		name   string
		sizes  []int // members per set
		legacy int   // index of the legacy set, -1 for none
		scores int   // distinct live scores (fewer: more ties)
	}{
		{"even shards", []int{150, 150, 150, 150, 150, 150}, -1, 400},
		{"even shards, many ties", []int{120, 120, 120, 120}, -1, 15},
		{"shards and a legacy key", []int{80, 80, 80, 300}, 3, 500},
		{"uneven sets", []int{1, 500, 3, 0, 90}, -1, 300},
		{"one big, many empty", []int{0, 0, 700, 0, 0, 0}, -1, 700},
		{"two sets", []int{400, 380}, -1, 50},
	}
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		now := time.Now()
		st := New(rdb, Options{Now: func() time.Time { return now }})
		paths := map[string]int{}
		for ci, tc := range cases {
			rng := rand.New(rand.NewPCG(uint64(ci), 7))
			var idxs []index
			var all []ranked
			for i, n := range tc.sizes {
				ix := index{key: fmt.Sprintf("ix:{pg%d}:%d", ci, i), legacy: i == tc.legacy}
				idxs = append(idxs, ix)
				var zs []redis.Z
				for j := range n {
					m := fmt.Sprintf("m%04d.%d", rng.IntN(10000), i*1000+j)
					sc := float64(ms(now) + 1000 + int64(rng.IntN(tc.scores))*1000)
					if j%10 == 9 {
						sc = float64(ms(now) - int64(rng.IntN(5000))) // expired, awaiting a prune
					} else {
						all = append(all, ranked{ix: ix, member: m, score: sc})
					}
					zs = append(zs, redis.Z{Score: sc, Member: m})
				}
				if len(zs) > 0 {
					if err := rdb.ZAdd(ctx, ix.key, zs...).Err(); err != nil {
						t.Fatal(err)
					}
				}
			}
			sort.Slice(all, func(i, j int) bool { return before(all[i], all[j]) })
			st.tracePaging = func(path string) { paths[path]++; paths[tc.name+":"+path]++ }
			for _, size := range []int64{1, 3, 7, 20, 50} {
				for off := int64(0); off <= int64(len(all))+size; off += max(1, size/2) {
					got, total, err := st.pageAcross(ctx, idxs, ms(now), off, size)
					if err != nil {
						t.Fatalf("%s: page at %d size %d: %v", tc.name, off, size, err)
					}
					want := all[min(off, int64(len(all))):min(off+size, int64(len(all)))]
					if total != int64(len(all)) || !sameMembers(got, want) {
						t.Fatalf("%s: page at %d size %d: total %d, %s; want total %d",
							tc.name, off, size, total, cmp.Diff(memberList(want), memberList(got)), len(all))
					}
				}
			}
		}
		if paths["top"] == 0 || paths["pivot"] == 0 {
			t.Errorf("paths taken %v: want pages found from the top and around a pivot", paths)
		}
		t.Logf("paths taken: %v", paths)
	})
}

// TestPageAcrossFallsBackExactly: a pivot far from the page (sets whose
// scores differ wildly, so the median of their probes strays) still finds
// the page with the exact read.
func TestPageAcrossFallsBackExactly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		now := time.Now()
		st := New(rdb, Options{Now: func() time.Time { return now }})
		var idxs []index
		var all []ranked
		// Set i holds the scores of band i: the sets do not interleave, so
		// every probe at rank off/N lands in its own band.
		for i := range 4 {
			ix := index{key: fmt.Sprintf("ix:{fb}:%d", i)}
			idxs = append(idxs, ix)
			var zs []redis.Z
			for j := range 300 {
				sc := float64(ms(now) + int64(i*100000+j*10+1))
				m := fmt.Sprintf("m%d.%03d", i, j)
				zs = append(zs, redis.Z{Score: sc, Member: m})
				all = append(all, ranked{ix: ix, member: m, score: sc})
			}
			if err := rdb.ZAdd(ctx, ix.key, zs...).Err(); err != nil {
				t.Fatal(err)
			}
		}
		sort.Slice(all, func(i, j int) bool { return before(all[i], all[j]) })
		paths := map[string]int{}
		st.tracePaging = func(path string) { paths[path]++ }
		for _, off := range []int64{100, 299, 300, 450, 600, 899, 1190} {
			got, total, err := st.pageAcross(ctx, idxs, ms(now), off, 20)
			want := all[off:min(off+20, int64(len(all)))]
			if err != nil || total != 1200 || !sameMembers(got, want) {
				t.Fatalf("page at %d: total %d, %v: %s", off, total, err, cmp.Diff(memberList(want), memberList(got)))
			}
		}
		if paths["exact"] == 0 {
			t.Errorf("paths taken %v: the exact read never ran", paths)
		}
	})
}

func sameMembers(a, b []ranked) bool {
	return cmp.Equal(memberList(a), memberList(b))
}

func memberList(rs []ranked) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%s@%d", r.member, int64(r.score))
	}
	return out
}

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
		// While another instance holds the upgrade's lock, the sweep finds
		// the tenants in the single-key list (and moves the partner views).
		if err := rdb.Set(ctx, upgradeLockKey, "other", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		if sw, err := st.Sweep(ctx); err != nil || sw.Tenants != 4 || sw.Upgraded != 38 {
			t.Fatalf("sweep before the upgrade visited %d tenants and moved %d (%v), want 4 and 38 partner view members", sw.Tenants, sw.Upgraded, err)
		}
		listsAll("after the partner views moved", 38)
		rdb.Del(ctx, upgradeLockKey)
		res, err := st.Upgrade(ctx)
		if err != nil || res.Views != 38 || res.Tenants != 4 {
			t.Fatalf("upgrade: %+v, %v; want 38 view members and 4 tenants moved", res, err)
		}
		if _, err := st.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			tenant := fmt.Sprintf("t%d", i)
			if _, err := rdb.ZScore(ctx, st.views.tenantKey(tenant), tenant).Result(); err != nil {
				t.Errorf("tenant %s is not in its shard of the tenant list: %v", tenant, err)
			}
		}
		for _, key := range []string{globalViewKey, partnerViewKey("p0"), partnerViewKey("p1"), tenantsKey} {
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
