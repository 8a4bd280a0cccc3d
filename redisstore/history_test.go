package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// historyStore is a store with history on, on rdb.
func historyStore(rdb redis.UniversalClient, o Options) *Store {
	if o.HistoryRetention == 0 {
		o.HistoryRetention = time.Hour
	}
	return New(rdb, o)
}

// wantOrder is the listing order: expires_at descending, then id descending.
func wantOrder(items []session.Session) []string {
	s := slices.Clone(items)
	sort.Slice(s, func(i, j int) bool {
		if !s[i].ExpiresAt.Equal(s[j].ExpiresAt) {
			return s[i].ExpiresAt.After(s[j].ExpiresAt)
		}
		return s[i].ID > s[j].ID
	})
	return ids(s)
}

// pagesOf reads every page of f at per items a page and checks that each
// page reports the same exact total.
func pagesOf(t *testing.T, st *Store, f session.Filter, per int, wantTotal int) []session.Session {
	t.Helper()
	var all []session.Session
	for page := 1; ; page++ {
		res := mustList(t, st, f, page, per)
		if res.Total != int64(wantTotal) {
			t.Fatalf("%+v page %d per %d: total %d, want %d", f, page, per, res.Total, wantTotal)
		}
		all = append(all, res.Items...)
		if len(res.Items) < per {
			return all
		}
	}
}

func TestHistoryListsEndedSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := historyStore(rdb, Options{RevokeBatch: 3})
		var all []session.Session
		// Equal expiries on purpose: the order then falls to the ids.
		for i := 0; i < 14; i++ {
			s := newSession("th", "", []string{"u1", "u2"}[i%2], time.Duration(1+i%5)*time.Hour)
			mustCreate(t, st, s)
			all = append(all, *s)
		}
		// One at a time, by ids, and all of a user.
		if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "th"}, IDs: []string{all[0].ID}, Reason: "admin_revoke", Actor: "root"}); err != nil {
			t.Fatal(err)
		}
		got, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "th", UserID: "u2"}, Reason: "user_revoke_admin", Actor: "ta"})
		if err != nil || len(got) != 7 {
			t.Fatalf("revoke u2: %d revoked, %v; want 7", len(got), err)
		}
		// Revoking again counts nothing: an ended session is not active.
		if again, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "th", UserID: "u2"}, Reason: "user_revoke_admin"}); err != nil || len(again) != 0 {
			t.Fatalf("second revoke of u2: %d revoked, %v; want 0", len(again), err)
		}
		ended := map[string]string{all[0].ID: "admin_revoke"}
		for _, r := range got {
			ended[r.ID] = "user_revoke_admin"
		}

		for _, per := range []int{1, 2, 3, 5, 14, 20} {
			items := pagesOf(t, st, session.Filter{TenantID: "th", WithEnded: true}, per, 14)
			if g, w := ids(items), wantOrder(all); !slices.Equal(g, w) {
				t.Fatalf("per %d: order %v, want %v", per, g, w)
			}
			for _, it := range items {
				reason, isEnded := ended[it.ID]
				switch {
				case isEnded && (it.Status != session.StatusRevoked || it.End.Reason != reason || it.End.At.IsZero()):
					t.Errorf("%s: status %q end %+v, want revoked by %s", it.ID, it.Status, it.End, reason)
				case !isEnded && (it.Status != session.StatusActive || !it.End.At.IsZero()):
					t.Errorf("%s: status %q end %+v, want active", it.ID, it.Status, it.End)
				}
			}
		}
		var u1, u2 []session.Session
		for _, s := range all {
			if s.UserID == "u1" {
				u1 = append(u1, s)
			} else {
				u2 = append(u2, s)
			}
		}
		for _, per := range []int{1, 4} {
			if g, w := ids(pagesOf(t, st, session.Filter{TenantID: "th", UserID: "u1", WithEnded: true}, per, 7)), wantOrder(u1); !slices.Equal(g, w) {
				t.Errorf("u1 per %d: %v, want %v", per, g, w)
			}
			if g, w := ids(pagesOf(t, st, session.Filter{TenantID: "th", UserID: "u2", WithEnded: true}, per, 7)), wantOrder(u2); !slices.Equal(g, w) {
				t.Errorf("u2 per %d: %v, want %v", per, g, w)
			}
		}
		// The active list is unchanged: 6 of u1.
		if res := mustList(t, st, session.Filter{TenantID: "th"}, 1, 50); res.Total != 6 || len(res.Items) != 6 || res.Items[0].Status != "" {
			t.Errorf("active list: total %d, %d items (status %q); want 6, 6, no status", res.Total, len(res.Items), res.Items[0].Status)
		}
		// A page past the end is empty with the true total.
		if res := mustList(t, st, session.Filter{TenantID: "th", WithEnded: true}, 9, 5); res.Total != 14 || len(res.Items) != 0 {
			t.Errorf("page past the end: total %d, %d items", res.Total, len(res.Items))
		}

		// One by id: ended, with its fields; not live; its id still taken.
		e, err := st.GetEnded(ctx, "", all[0].ID)
		if err != nil || e.End.By != "root" || e.UserAgent != all[0].UserAgent || !e.ExpiresAt.Equal(all[0].ExpiresAt) {
			t.Fatalf("GetEnded: %+v, %v", e, err)
		}
		if _, err := st.GetInTenant(ctx, "th", all[0].ID); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("GetInTenant of an ended session: %v, want ErrNotFound", err)
		}
		if _, err := st.GetEnded(ctx, "th", all[2].ID); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("GetEnded of an active session: %v, want ErrNotFound", err)
		}
		reuse := newSession("th", "", "u3", time.Hour)
		reuse.ID = all[0].ID
		if err := st.Create(ctx, reuse); !errors.Is(err, session.ErrConflict) {
			t.Errorf("create with an ended session's id: %v, want ErrConflict", err)
		}
		// Stats count active sessions only.
		if stats, err := st.Stats(ctx, "th"); err != nil || stats.ActiveSessions != 6 {
			t.Errorf("stats: %+v, %v; want 6 active", stats, err)
		}
	})
}

func TestHistoryRetentionAndCap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		now := time.Now()
		clock := func() time.Time { return now }
		st := historyStore(rdb, Options{HistoryRetention: time.Hour, HistoryMax: 3, Now: func() time.Time { return clock() }})
		var made []string
		for i := 0; i < 5; i++ {
			s := newSession("tc", "", "u1", 2*time.Hour)
			mustCreate(t, st, s)
			made = append(made, s.ID)
		}
		for i, id := range made {
			at := now.Add(time.Duration(i) * time.Minute)
			clock = func() time.Time { return at }
			if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "tc"}, IDs: []string{id}, Reason: "admin_revoke"}); err != nil {
				t.Fatal(err)
			}
		}
		// The cap keeps the 3 newest ended, in the tenant and user lists.
		want := []string{made[2], made[3], made[4]}
		for _, f := range []session.Filter{{TenantID: "tc", WithEnded: true}, {TenantID: "tc", UserID: "u1", WithEnded: true}} {
			got := ids(pagesOf(t, st, f, 2, 3))
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("%+v after the cap: %v, want %v", f, got, want)
			}
		}
		if _, err := st.GetEnded(ctx, "tc", made[0]); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("GetEnded of a capped record: %v, want ErrNotFound", err)
		}
		// Past the retention of the first two kept (revoked at +2m, +3m).
		clock = func() time.Time { return now.Add(time.Hour + 3*time.Minute) }
		for _, f := range []session.Filter{{TenantID: "tc", WithEnded: true}, {TenantID: "tc", UserID: "u1", WithEnded: true}} {
			if got := ids(pagesOf(t, st, f, 10, 1)); !slices.Equal(got, []string{made[4]}) {
				t.Errorf("%+v past the retention: %v, want [%s]", f, got, made[4])
			}
		}
		if _, err := st.GetEnded(ctx, "tc", made[2]); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("GetEnded past the retention: %v, want ErrNotFound", err)
		}
		// Everything ended carries its own expiry.
		for _, key := range []string{tenantKeys("tc").ended(), tenantKeys("tc").endedDrop(), tenantKeys("tc").endedAll(), tenantKeys("tc").endedUser("u1"), tenantKeys("tc").audit(), tenantKeys("tc").auditOrder()} {
			if ttl, err := rdb.PTTL(ctx, key).Result(); err != nil || ttl <= 0 {
				t.Errorf("%s: PTTL %v, %v; want an expiry", key, ttl, err)
			}
		}
	})
}

func TestHistoryOffKeepsNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{})
		s := newSession("to", "", "u1", time.Hour)
		mustCreate(t, st, s)
		keep := newSession("to", "", "u1", time.Hour)
		mustCreate(t, st, keep)
		if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "to"}, IDs: []string{s.ID}, Reason: "admin_revoke"}); err != nil {
			t.Fatal(err)
		}
		if res := mustList(t, st, session.Filter{TenantID: "to", WithEnded: true}, 1, 10); res.Total != 1 || res.Items[0].ID != keep.ID || res.Items[0].Status != "" {
			t.Errorf("active_only=false with history off: %+v, want the active list", res)
		}
		for _, pattern := range []string{"eh:*", "hd:*", "hx:*", "au:*", "ai:*", pointerKey(s.ID)} {
			if keys := scanKeys(t, rdb, pattern); len(keys) != 0 {
				t.Errorf("history off left %v", keys)
			}
		}
		// The id is free again, as before history existed.
		again := newSession("to", "", "u1", time.Hour)
		again.ID = s.ID
		mustCreate(t, st, again)
	})
}

func TestAuditEntries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := historyStore(rdb, Options{RevokeBatch: 4})
		for i := 0; i < 11; i++ {
			mustCreate(t, st, newSession("ta", "", fmt.Sprintf("u%d", i%2), time.Hour))
		}
		ops := []session.Revocation{
			{Filter: session.Filter{TenantID: "ta", UserID: "u0"}, Reason: "user_revoke_admin", Actor: "alice", ActorRole: "tenant_admin", Target: session.AuditTargetUser},
			{Filter: session.Filter{TenantID: "ta", UserID: "u0"}, Reason: "user_revoke_admin", Actor: "alice", ActorRole: "tenant_admin", Target: session.AuditTargetUser},
			{Filter: session.Filter{TenantID: "ta"}, Reason: "tenant_revoke_all", Actor: "bob", ActorRole: "super_admin", Target: session.AuditTargetTenant},
		}
		for _, op := range ops {
			if _, err := st.Revoke(ctx, op); err != nil {
				t.Fatal(err)
			}
		}
		// The second revoked nothing: no entry. The first spans two batches
		// of 4 (6 sessions), the third two batches (5): one entry each.
		res, err := st.Audit(ctx, "ta", session.Page{Number: 1, PerPage: 10})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != 2 || len(res.Items) != 2 {
			t.Fatalf("audit: total %d, %d items; want 2, 2", res.Total, len(res.Items))
		}
		newest, oldest := res.Items[0], res.Items[1]
		if newest.Actor != "bob" || newest.ActorRole != "super_admin" || newest.Reason != "tenant_revoke_all" || newest.Target != "tenant" || newest.RevokedCount != 5 || len(newest.SessionIDs) != 5 {
			t.Errorf("newest entry: %+v", newest)
		}
		if oldest.Actor != "alice" || oldest.Target != "user" || oldest.RevokedCount != 6 || len(oldest.SessionIDs) != 6 || newest.At.Before(oldest.At) {
			t.Errorf("oldest entry: %+v", oldest)
		}
		if page, err := st.Audit(ctx, "ta", session.Page{Number: 2, PerPage: 1}); err != nil || page.Total != 2 || len(page.Items) != 1 || page.Items[0].ID != oldest.ID {
			t.Errorf("audit page 2 of 1: %+v, %v", page, err)
		}
		if page, err := st.Audit(ctx, "ta", session.Page{Number: 5, PerPage: 10}); err != nil || page.Total != 2 || len(page.Items) != 0 {
			t.Errorf("audit page past the end: %+v, %v", page, err)
		}
	})
}

// TestHistoryLoginRacingRevokeAll: creates race a revoke-all with history
// on; afterwards no session is both active and ended, and every revoked one
// has its record.
func TestHistoryLoginRacingRevokeAll(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := historyStore(rdb, Options{RevokeBatch: 7})
		for i := 0; i < 60; i++ {
			mustCreate(t, st, newSession("tr", "", fmt.Sprintf("u%d", i%5), time.Hour))
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var created []string
		for w := 0; w < 4; w++ {
			wg.Go(func() {
				for i := 0; i < 15; i++ {
					s := newSession("tr", "", fmt.Sprintf("u%d", i%5), time.Hour)
					if err := st.Create(ctx, s); err != nil {
						t.Errorf("create: %v", err)
						return
					}
					mu.Lock()
					created = append(created, s.ID)
					mu.Unlock()
				}
			})
		}
		var revoked []session.Revoked
		wg.Go(func() {
			r, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "tr"}, Reason: "tenant_revoke_all"})
			if err != nil {
				t.Errorf("revoke-all: %v", err)
			}
			revoked = r
		})
		wg.Wait()
		all := pagesOf(t, st, session.Filter{TenantID: "tr", WithEnded: true}, 25, 120)
		seen := map[string]string{}
		for _, s := range all {
			if prev, dup := seen[s.ID]; dup {
				t.Errorf("%s listed twice (%s, %s)", s.ID, prev, s.Status)
			}
			seen[s.ID] = s.Status
		}
		for _, r := range revoked {
			if seen[r.ID] != session.StatusRevoked {
				t.Errorf("revoked %s lists as %q", r.ID, seen[r.ID])
			}
			if _, err := st.GetInTenant(ctx, "tr", r.ID); !errors.Is(err, session.ErrNotFound) {
				t.Errorf("revoked %s still live: %v", r.ID, err)
			}
		}
		active := mustList(t, st, session.Filter{TenantID: "tr"}, 1, 200)
		if int(active.Total)+len(revoked) != 120 {
			t.Errorf("%d active + %d revoked, want 120 sessions", active.Total, len(revoked))
		}
	})
}
