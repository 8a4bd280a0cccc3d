package redisstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
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
