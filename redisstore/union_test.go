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

// shortTTL is the lifetime of the sessions the union tests let expire.
const shortTTL = 1200 * time.Millisecond

// waitShort waits until the sessions created with shortTTL have expired.
func waitShort() { time.Sleep(shortTTL + 400*time.Millisecond) }

// unionMix fills a tenant with active, revoked, touched and expiring
// sessions of three users and returns their ids. Short-lived sessions
// (every third) are past their expiry once waitShort returns; some were
// revoked before, so they are ended records with a past expires_at.
func unionMix(t *testing.T, st *Store, tenant string) []string {
	t.Helper()
	ctx := context.Background()
	var sids, revoke []string
	for i := range 36 {
		ttl := time.Hour + time.Duration(i%4)*time.Minute // equal expiries: the order falls to the ids
		if i%3 == 0 {
			ttl = shortTTL
		}
		s := newSession(tenant, "", fmt.Sprintf("u%d", i%3+i%2), ttl)
		if i%5 == 2 {
			s.IdleTimeout = 10 * time.Minute
			s.AbsoluteExpiresAt = s.CreatedAt.Add(2 * time.Hour)
			s.ExpiresAt = s.CreatedAt.Add(10 * time.Minute)
		}
		mustCreate(t, st, s)
		sids = append(sids, s.ID)
		if i%5 == 2 {
			// Activity moves the expiry (ix and ux alike).
			a := session.Activity{At: s.CreatedAt.Add(time.Duration(i) * time.Second)}
			if err := st.Touch(ctx, tenant, s.ID, a); err != nil {
				t.Fatalf("touch %s: %v", s.ID, err)
			}
		}
		if i%4 == 1 || i%6 == 0 {
			revoke = append(revoke, s.ID)
		}
	}
	if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: tenant}, IDs: revoke, Reason: "admin_revoke"}); err != nil {
		t.Fatal(err)
	}
	// A whole user, in batches, from the user's index.
	if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: tenant, UserID: "u3"}, Reason: "user_revoke_admin"}); err != nil {
		t.Fatal(err)
	}
	return sids
}

// referenceOrder is the listing of the sessions among sids (of user uid
// when not "") merged from what Get and GetEnded read of each: the active
// ones not past their expiry and the ended ones history keeps, in listing
// order (expires_at descending, then id descending).
func referenceOrder(t *testing.T, st *Store, tenant, uid string, sids []string) []string {
	t.Helper()
	ctx := context.Background()
	var items []session.Session
	for _, sid := range sids {
		s, err := st.GetInTenant(ctx, tenant, sid)
		if err == nil && !s.ExpiresAt.After(time.Now()) {
			err = session.ErrNotFound
		}
		if errors.Is(err, session.ErrNotFound) {
			s, err = st.GetEnded(ctx, tenant, sid)
		}
		if errors.Is(err, session.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("get %s: %v", sid, err)
		}
		if uid == "" || s.UserID == uid {
			items = append(items, s)
		}
	}
	return wantOrder(items)
}

// zmembers is the members of a zset with their scores, "member@score", sorted.
func zmembers(t *testing.T, rdb redis.UniversalClient, key string) []string {
	t.Helper()
	zs, err := rdb.ZRangeWithScores(context.Background(), key, 0, -1).Result()
	if err != nil {
		t.Fatalf("zrange %s: %v", key, err)
	}
	out := make([]string, 0, len(zs))
	for _, z := range zs {
		out = append(out, fmt.Sprintf("%v@%.0f", z.Member, z.Score))
	}
	slices.Sort(out)
	return out
}

// checkInStep fails unless each union index holds exactly the members of
// its active and ended indexes, with their scores: kept in step by the
// writes themselves, not by a listing's rebuild.
func checkInStep(t *testing.T, rdb redis.UniversalClient, tenant string, uids ...string) {
	t.Helper()
	k := tenantKeys(tenant)
	pairs := [][3]string{{k.all(), k.endedAll(), k.unionAll()}}
	for _, u := range uids {
		pairs = append(pairs, [3]string{k.user(u), k.endedUser(u), k.unionUser(u)})
	}
	for _, p := range pairs {
		want := append(zmembers(t, rdb, p[0]), zmembers(t, rdb, p[1])...)
		slices.Sort(want)
		if got := zmembers(t, rdb, p[2]); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %s ∪ %s = %v", p[2], got, p[0], p[1], want)
		}
	}
	// A user's drop times name the user's ended sessions.
	names := func(key string) []string {
		m, err := rdb.ZRange(context.Background(), key, 0, -1).Result()
		if err != nil {
			t.Fatalf("zrange %s: %v", key, err)
		}
		slices.Sort(m)
		return m
	}
	for _, u := range uids {
		if got, want := names(k.endedUserDrop(u)), names(k.endedUser(u)); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want the members of %s: %v", k.endedUserDrop(u), got, k.endedUser(u), want)
		}
	}
}

// checkListing reads every page of the tenant's and each user's listing
// with the ended sessions, at several page sizes, and compares it with the
// reference merge.
func checkListing(t *testing.T, st *Store, tenant string, sids []string) {
	t.Helper()
	for _, uid := range []string{"", "u0", "u1", "u2", "u3"} {
		want := referenceOrder(t, st, tenant, uid, sids)
		f := session.Filter{TenantID: tenant, UserID: uid, WithEnded: true}
		for _, per := range []int{1, 2, 3, 5, 7, 50} {
			if got := ids(pagesOf(t, st, f, per, len(want))); !slices.Equal(got, want) {
				t.Fatalf("user %q per %d: got %v, want %v", uid, per, got, want)
			}
		}
		// Every page at every offset, not only page boundaries of one size.
		for off := range len(want) + 1 {
			res := mustList(t, st, f, off+1, 1)
			if off < len(want) && (len(res.Items) != 1 || res.Items[0].ID != want[off]) {
				t.Fatalf("user %q offset %d: got %v, want %s", uid, off, ids(res.Items), want[off])
			}
		}
	}
}

func TestHistoryUnionListing(t *testing.T) {
	cases := []struct {
		name  string
		sweep bool // the sweep prunes the expired sessions before the listing does
	}{
		{name: "pruned by the listing"},
		{name: "pruned by the sweep", sweep: true},
	}
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				tenant := fmt.Sprintf("tux%d", i)
				st := historyStore(rdb, Options{RevokeBatch: 4})
				sids := unionMix(t, st, tenant)
				checkInStep(t, rdb, tenant, "u0", "u1", "u2", "u3")
				waitShort()
				if tc.sweep {
					if _, err := st.Sweep(context.Background()); err != nil {
						t.Fatal(err)
					}
					checkInStep(t, rdb, tenant, "u0", "u1", "u2", "u3")
				}
				checkListing(t, st, tenant, sids)
				checkInStep(t, rdb, tenant, "u0", "u1", "u2", "u3")
			})
		}
	})
}

func TestHistoryUnionCleanup(t *testing.T) {
	ctx := context.Background()
	revoke := func(t *testing.T, st *Store, tenant string, sids ...string) {
		t.Helper()
		if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: tenant}, IDs: sids, Reason: "admin_revoke"}); err != nil {
			t.Fatal(err)
		}
	}
	has := func(t *testing.T, rdb redis.UniversalClient, key, sid string) bool {
		t.Helper()
		_, err := rdb.ZScore(ctx, key, sid).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
		return err == nil
	}
	cases := []struct {
		name string
		opts Options
		// run makes the sessions it returns leave the union indexes (all
		// and the user's "u1") and returns those that must stay.
		run func(t *testing.T, st *Store, rdb redis.UniversalClient, tenant string) (gone, kept []string)
	}{
		{
			name: "dropped by a later revocation past the retention", opts: Options{HistoryRetention: 2 * time.Second},
			run: func(t *testing.T, st *Store, rdb redis.UniversalClient, tenant string) ([]string, []string) {
				var all []*session.Session
				for range 3 {
					s := newSession(tenant, "", "u1", time.Hour)
					mustCreate(t, st, s)
					all = append(all, s)
				}
				a, b, c := all[0], all[1], all[2]
				revoke(t, st, tenant, a.ID)
				time.Sleep(1100 * time.Millisecond)
				revoke(t, st, tenant, b.ID) // the history keys now live until b's drop
				time.Sleep(1000 * time.Millisecond)
				revoke(t, st, tenant, c.ID) // drops a from eh, hd, hx all and ux all
				if has(t, rdb, tenantKeys(tenant).unionAll(), a.ID) {
					t.Errorf("ux all keeps %s after the revocation that dropped it", a.ID)
				}
				checkInStep(t, rdb, tenant)
				return []string{a.ID}, []string{b.ID, c.ID}
			},
		},
		{
			// The history keys expire with their last record: ux all is
			// out of step until the listing builds it again.
			name: "dropped by the listing past the retention", opts: Options{HistoryRetention: time.Second},
			run: func(t *testing.T, st *Store, rdb redis.UniversalClient, tenant string) ([]string, []string) {
				a, b := newSession(tenant, "", "u1", time.Hour), newSession(tenant, "", "u1", time.Hour)
				mustCreate(t, st, a)
				mustCreate(t, st, b)
				revoke(t, st, tenant, a.ID)
				time.Sleep(1200 * time.Millisecond)
				return []string{a.ID}, []string{b.ID}
			},
		},
		{
			name: "over the cap", opts: Options{HistoryMax: 2},
			run: func(t *testing.T, st *Store, rdb redis.UniversalClient, tenant string) ([]string, []string) {
				var sids []string
				for range 4 {
					s := newSession(tenant, "", "u1", time.Hour)
					mustCreate(t, st, s)
					revoke(t, st, tenant, s.ID)
					sids = append(sids, s.ID)
				}
				if n := rdb.ZCard(ctx, tenantKeys(tenant).unionAll()).Val(); n != 2 {
					t.Errorf("ux all holds %d after 4 revocations over a cap of 2, want 2", n)
				}
				return sids[:2], sids[2:]
			},
		},
		{
			name: "expired, pruned by the sweep",
			run: func(t *testing.T, st *Store, rdb redis.UniversalClient, tenant string) ([]string, []string) {
				short, other := newSession(tenant, "", "u1", shortTTL), newSession(tenant, "", "u2", time.Hour)
				mustCreate(t, st, short)
				mustCreate(t, st, other)
				waitShort()
				if _, err := st.Sweep(ctx); err != nil {
					t.Fatal(err)
				}
				checkInStep(t, rdb, tenant, "u1", "u2")
				k := tenantKeys(tenant)
				if has(t, rdb, k.unionAll(), short.ID) || has(t, rdb, k.unionUser("u1"), short.ID) {
					t.Errorf("the sweep left the expired %s in ux", short.ID)
				}
				return []string{short.ID}, []string{other.ID}
			},
		},
		{
			name: "expired, pruned by the user's next create",
			run: func(t *testing.T, st *Store, rdb redis.UniversalClient, tenant string) ([]string, []string) {
				short, next := newSession(tenant, "", "u1", shortTTL), newSession(tenant, "", "u1", time.Hour)
				mustCreate(t, st, short)
				waitShort()
				mustCreate(t, st, next)
				checkInStep(t, rdb, tenant, "u1")
				k := tenantKeys(tenant)
				if has(t, rdb, k.unionAll(), short.ID) || has(t, rdb, k.unionUser("u1"), short.ID) {
					t.Errorf("create left the expired %s in ux", short.ID)
				}
				return []string{short.ID}, []string{next.ID}
			},
		},
		{
			name: "expired, found stale by a revocation of the user",
			run: func(t *testing.T, st *Store, rdb redis.UniversalClient, tenant string) ([]string, []string) {
				short, live := newSession(tenant, "", "u1", shortTTL), newSession(tenant, "", "u1", time.Hour)
				mustCreate(t, st, short)
				mustCreate(t, st, live)
				waitShort()
				if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: tenant, UserID: "u1"}, Reason: "user_revoke_admin"}); err != nil {
					t.Fatal(err)
				}
				checkInStep(t, rdb, tenant, "u1")
				return []string{short.ID}, []string{live.ID}
			},
		},
		{
			// Redis's clock ahead of the service's: the hash expired while
			// its index entry is still live for the service.
			name: "hash gone, repaired by the active listings",
			run: func(t *testing.T, st *Store, rdb redis.UniversalClient, tenant string) ([]string, []string) {
				gone, live := newSession(tenant, "", "u1", time.Hour), newSession(tenant, "", "u1", 2*time.Hour)
				mustCreate(t, st, gone)
				mustCreate(t, st, live)
				if err := rdb.Del(ctx, tenantKeys(tenant).session(gone.ID)).Err(); err != nil {
					t.Fatal(err)
				}
				for _, f := range []session.Filter{{TenantID: tenant}, {TenantID: tenant, UserID: "u1"}} {
					if res := mustList(t, st, f, 1, 10); len(res.Items) != 1 {
						t.Fatalf("%+v: %v, want only %s", f, ids(res.Items), live.ID)
					}
				}
				checkInStep(t, rdb, tenant, "u1")
				return []string{gone.ID}, []string{live.ID}
			},
		},
	}
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				tenant := fmt.Sprintf("tuc%d", i)
				st := historyStore(rdb, tc.opts)
				gone, kept := tc.run(t, st, rdb, tenant)
				for _, f := range []session.Filter{{TenantID: tenant, WithEnded: true}, {TenantID: tenant, UserID: "u1", WithEnded: true}} {
					mustList(t, st, f, 1, 50) // prunes what is past its time
				}
				checkInStep(t, rdb, tenant, "u1")
				k := tenantKeys(tenant)
				for _, sid := range gone {
					for _, key := range []string{k.unionAll(), k.unionUser("u1")} {
						if has(t, rdb, key, sid) {
							t.Errorf("%s keeps %s", key, sid)
						}
					}
				}
				for _, sid := range kept {
					if !has(t, rdb, k.unionAll(), sid) {
						t.Errorf("%s lacks %s", k.unionAll(), sid)
					}
				}
			})
		}
	})
}

func TestHistoryOffWritesNoUnion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{RevokeBatch: 4})
		if err := st.SetPolicy(ctx, "tuo", session.Policy{MaxSessionsPerUser: 3}); err != nil {
			t.Fatal(err)
		}
		sids := unionMix(t, st, "tuo") // creates (and evictions), touches, revocations
		waitShort()
		if _, err := st.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		for _, uid := range []string{"", "u0"} {
			mustList(t, st, session.Filter{TenantID: "tuo", UserID: uid, WithEnded: true}, 1, 10)
		}
		if len(sids) == 0 {
			t.Fatal("no sessions")
		}
		if keys := append(scanKeys(t, rdb, "ux:*"), scanKeys(t, rdb, "hd:*")...); len(keys) != 0 {
			t.Errorf("history off wrote %v, want no union index or drop times", keys)
		}
	})
}

func TestHistoryUnionBackfill(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// before turns a tenant's data into what the listing finds: union
		// indexes missing or out of step.
		before func(t *testing.T, rdb redis.UniversalClient, tenant string) []string
	}{
		{
			name: "written before the union indexes existed",
			before: func(t *testing.T, rdb redis.UniversalClient, tenant string) []string {
				for _, key := range append(scanKeys(t, rdb, "ux:{"+tenant+"}:*"), scanKeys(t, rdb, "hd:{"+tenant+"}:u:*")...) {
					if err := rdb.Del(ctx, key).Err(); err != nil {
						t.Fatal(err)
					}
				}
				// The new version writes meanwhile: ux holds a few members only.
				st := historyStore(rdb, Options{})
				s := newSession(tenant, "", "u1", 3*time.Hour)
				mustCreate(t, st, s)
				return []string{s.ID}
			},
		},
		{
			name: "history off for a while",
			before: func(t *testing.T, rdb redis.UniversalClient, tenant string) []string {
				off := New(rdb, Options{})
				var sids []string
				for range 2 {
					s := newSession(tenant, "", "u1", 3*time.Hour)
					mustCreate(t, off, s)
					sids = append(sids, s.ID)
				}
				live := mustList(t, off, session.Filter{TenantID: tenant, UserID: "u0"}, 1, 1)
				if len(live.Items) == 1 {
					if _, err := off.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: tenant}, IDs: ids(live.Items), Reason: "admin_revoke"}); err != nil {
						t.Fatal(err)
					}
				}
				return sids
			},
		},
	}
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				tenant := fmt.Sprintf("tub%d", i)
				st := historyStore(rdb, Options{RevokeBatch: 4})
				sids := unionMix(t, st, tenant)
				sids = append(sids, tc.before(t, rdb, tenant)...)
				waitShort()
				checkListing(t, st, tenant, sids)
				checkInStep(t, rdb, tenant, "u0", "u1", "u2", "u3")
				for _, key := range scanKeys(t, rdb, "ux:{"+tenant+"}:*") {
					if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 0 {
						t.Errorf("%s rebuilt without an expiry (pttl %v)", key, ttl)
					}
				}
			})
		}
	})
}
