package redisstore

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// seedTenants creates, for 2 partners × 2 tenants × 3 users, n sessions per
// user with distinct expiries, and returns the expected order per filter.
func seedTenants(tb testing.TB, st *Store, n int) map[session.Filter][]string {
	tb.Helper()
	type sx struct {
		id  string
		exp time.Time
		f   session.Session
	}
	var all []sx
	i := 0
	for _, p := range []string{"pa", "pb"} {
		for _, tn := range []string{"1", "2"} {
			for _, u := range []string{"u1", "u2", "u3"} {
				for k := 0; k < n; k++ {
					i++
					s := newSession(p+"-t"+tn, p, u, time.Duration(i)*time.Minute)
					mustCreate(tb, st, s)
					all = append(all, sx{s.ID, s.ExpiresAt, *s})
				}
			}
		}
	}
	sort.Slice(all, func(a, b int) bool { return all[a].exp.After(all[b].exp) })
	want := map[session.Filter][]string{}
	add := func(f session.Filter, s sx) { want[f] = append(want[f], s.id) }
	for _, s := range all {
		add(session.Filter{}, s)
		add(session.Filter{PartnerID: s.f.PartnerID}, s)
		add(session.Filter{TenantID: s.f.TenantID}, s)
		add(session.Filter{UserID: s.f.UserID}, s)
		add(session.Filter{TenantID: s.f.TenantID, UserID: s.f.UserID}, s)
		add(session.Filter{PartnerID: s.f.PartnerID, UserID: s.f.UserID}, s)
		add(session.Filter{PartnerID: s.f.PartnerID, TenantID: s.f.TenantID}, s)
		add(session.Filter{PartnerID: s.f.PartnerID, TenantID: s.f.TenantID, UserID: s.f.UserID}, s)
	}
	return want
}

func TestListFiltersAndPages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		st := New(rdb, Options{})
		want := seedTenants(t, st, 4) // 48 sessions
		want[session.Filter{PartnerID: "pa", TenantID: "pb-t1"}] = nil
		want[session.Filter{TenantID: "nobody"}] = nil
		for f, ordered := range want {
			for _, per := range []int{1, 5, 20, 100} {
				pages := session.TotalPages(int64(len(ordered)), per)
				for page := 1; page <= int(pages)+1; page++ {
					res := mustList(t, st, f, page, per)
					if res.Total != int64(len(ordered)) {
						t.Fatalf("%+v per %d page %d: total %d, want %d", f, per, page, res.Total, len(ordered))
					}
					lo := min((page-1)*per, len(ordered))
					hi := min(lo+per, len(ordered))
					exp := append([]string{}, ordered[lo:hi]...)
					if d := cmp.Diff(exp, ids(res.Items)); d != "" {
						t.Fatalf("%+v per %d page %d (-want +got):\n%s", f, per, page, d)
					}
				}
			}
		}
	})
}

// TestListRepairsStaleMembers: a member whose hash is gone is neither listed
// nor counted once a page met it, in tenant indexes and in views.
func TestListRepairsStaleMembers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{})
		var made []*session.Session
		for i := 0; i < 6; i++ {
			s := newSession("t1", "p1", "u1", time.Duration(i+1)*time.Hour)
			mustCreate(t, st, s)
			made = append(made, s)
		}
		// Simulate a crash that lost the hash but kept every index entry.
		gone := made[5]
		if err := rdb.Del(ctx, tenantKeys("t1").session(gone.ID)).Err(); err != nil {
			t.Fatal(err)
		}
		for _, f := range []session.Filter{{TenantID: "t1"}, {UserID: "u1"}, {PartnerID: "p1"}, {}} {
			res := mustList(t, st, f, 1, 3)
			for _, s := range res.Items {
				if s.ID == gone.ID {
					t.Errorf("%+v: listed a session whose hash is gone", f)
				}
			}
			if len(res.Items) != 3 {
				t.Errorf("%+v: page has %d items, want a full page of 3", f, len(res.Items))
			}
			if again := mustList(t, st, f, 1, 3); again.Total != 5 {
				t.Errorf("%+v: total after repair %d, want 5", f, again.Total)
			}
		}
	})
}

func TestListUserAcrossTenants(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		st := New(rdb, Options{})
		var want []string
		for i := 0; i < 12; i++ {
			s := newSession(fmt.Sprintf("t%d", i%4), "p", "roaming", time.Duration(12-i)*time.Hour)
			mustCreate(t, st, s)
			want = append(want, s.ID)
		}
		for page := 1; page <= 4; page++ {
			res := mustList(t, st, session.Filter{UserID: "roaming"}, page, 5)
			lo, hi := min((page-1)*5, 12), min(page*5, 12)
			if d := cmp.Diff(want[lo:hi], ids(res.Items)); d != "" || res.Total != 12 {
				t.Errorf("page %d total %d (-want +got):\n%s", page, res.Total, d)
			}
		}
	})
}

// BenchmarkListDepth shows that a deep page costs about what page 1 costs.
func BenchmarkListDepth(b *testing.B) {
	rdb := srv.NewClient(b)
	st := New(rdb, Options{})
	ctx := context.Background()
	const n = 20000
	pipe := rdb.Pipeline()
	k := tenantKeys("big")
	now := time.Now()
	for i := 0; i < n; i++ {
		s := newSession("big", "", "u", time.Hour+time.Duration(i)*time.Millisecond)
		pipe.HSet(ctx, k.session(s.ID), fUser, "u", fExpires, ms(s.ExpiresAt), fCreated, ms(now))
		pipe.ZAdd(ctx, k.all(), redis.Z{Score: float64(ms(s.ExpiresAt)), Member: s.ID})
		if i%1000 == 999 {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, page := range []int{1, n/20 - 1} {
		b.Run(fmt.Sprintf("page=%d", page), func(b *testing.B) {
			for b.Loop() {
				if _, err := st.List(ctx, session.Filter{TenantID: "big"}, session.Page{Number: page, PerPage: 20}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
