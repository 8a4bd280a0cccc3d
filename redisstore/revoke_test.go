package redisstore

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

func TestRevokeSelections(t *testing.T) {
	cases := []struct {
		name string
		r    session.Revocation
		// match says which seeded sessions the revocation must take.
		match func(s session.Session) bool
	}{
		{"tenant", session.Revocation{Filter: session.Filter{TenantID: "pa-t1"}},
			func(s session.Session) bool { return s.TenantID == "pa-t1" }},
		{"user in tenant", session.Revocation{Filter: session.Filter{TenantID: "pa-t2", UserID: "u2"}},
			func(s session.Session) bool { return s.TenantID == "pa-t2" && s.UserID == "u2" }},
		{"user everywhere", session.Revocation{Filter: session.Filter{UserID: "u3"}},
			func(s session.Session) bool { return s.UserID == "u3" }},
		{"user in partner", session.Revocation{Filter: session.Filter{UserID: "u1", PartnerID: "pb"}},
			func(s session.Session) bool { return s.UserID == "u1" && s.PartnerID == "pb" }},
		{"partner", session.Revocation{Filter: session.Filter{PartnerID: "pb"}},
			func(s session.Session) bool { return s.PartnerID == "pb" }},
		{"tenant outside partner", session.Revocation{Filter: session.Filter{TenantID: "pa-t1", PartnerID: "pb"}},
			func(s session.Session) bool { return false }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
				ctx := context.Background()
				st := New(rdb, Options{RevokeBatch: 4})
				seedTenants(t, st, 3)
				before := mustList(t, st, session.Filter{}, 1, 100).Items
				var want, keep []string
				for _, s := range before {
					if tc.match(s) {
						want = append(want, s.ID)
					} else {
						keep = append(keep, s.ID)
					}
				}
				got, err := st.Revoke(ctx, tc.r)
				if err != nil {
					t.Fatal(err)
				}
				gotIDs := make([]string, len(got))
				for i, r := range got {
					gotIDs[i] = r.ID
				}
				sort.Strings(want)
				sort.Strings(gotIDs)
				if d := cmp.Diff(want, gotIDs); d != "" && len(want)+len(gotIDs) > 0 {
					t.Errorf("revoked (-want +got):\n%s", d)
				}
				after := ids(mustList(t, st, session.Filter{}, 1, 100).Items)
				sort.Strings(after)
				sort.Strings(keep)
				if d := cmp.Diff(keep, after); d != "" {
					t.Errorf("left (-want +got):\n%s", d)
				}
				if n := checkIndexed(t, rdb, 250); n != len(keep) {
					t.Errorf("live hashes %d, want %d", n, len(keep))
				}
				for _, id := range want {
					if n, _ := rdb.Exists(ctx, pointerKey(id)).Result(); n != 0 {
						t.Errorf("pointer of revoked %s left behind", id)
					}
				}
			})
		})
	}
}

func TestRevokeIDsAndExcept(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{RevokeBatch: 2})
		var mine []string
		for i := 0; i < 5; i++ {
			s := newSession("t1", "p1", "me", time.Hour)
			mustCreate(t, st, s)
			mine = append(mine, s.ID)
		}
		other := newSession("t1", "p1", "someone", time.Hour)
		mustCreate(t, st, other)

		// Ids of another user are ignored and not counted.
		got, err := st.Revoke(ctx, session.Revocation{
			Filter: session.Filter{TenantID: "t1", UserID: "me"}, IDs: []string{mine[0], other.ID, "nope"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(map[string]bool{mine[0]: true}, revokedIDs(got)); d != "" {
			t.Errorf("ids revocation (-want +got):\n%s", d)
		}
		// Revoke all of mine except the current one, across several batches.
		got, err = st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "t1", UserID: "me"}, ExceptID: mine[2]})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(map[string]bool{mine[1]: true, mine[3]: true, mine[4]: true}, revokedIDs(got)); d != "" {
			t.Errorf("except revocation (-want +got):\n%s", d)
		}
		left := ids(mustList(t, st, session.Filter{TenantID: "t1"}, 1, 10).Items)
		sort.Strings(left)
		want := []string{mine[2], other.ID}
		sort.Strings(want)
		if d := cmp.Diff(want, left); d != "" {
			t.Errorf("left (-want +got):\n%s", d)
		}
		// Revoking again finds nothing.
		if got, _ := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "t1"}, IDs: []string{mine[0]}}); len(got) != 0 {
			t.Errorf("second revoke of %s revoked %d", mine[0], len(got))
		}
		if _, err := st.Revoke(ctx, session.Revocation{}); err == nil {
			t.Errorf("empty filter: got nil error")
		}
		checkIndexed(t, rdb, 250)
	})
}

func TestStats(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{})
		devices := []string{"desktop", "desktop", "mobile", "tablet", "bot", "unknown", "mobile"}
		var made []*session.Session
		for i, d := range devices {
			s := newSession("t1", "p1", "u"+itoa(int64(i%3)), time.Hour)
			s.DeviceType = d
			mustCreate(t, st, s)
			made = append(made, s)
		}
		mustCreate(t, st, newSession("t2", "p1", "x", time.Hour))
		if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "t1"}, IDs: []string{made[0].ID, made[2].ID}}); err != nil {
			t.Fatal(err)
		}
		got, err := st.Stats(ctx, "t1")
		if err != nil {
			t.Fatal(err)
		}
		want := session.Stats{
			TenantID: "t1", ActiveSessions: 5, ActiveUsers: 3,
			ByDeviceType:   map[string]int64{"desktop": 1, "mobile": 1, "tablet": 1, "bot": 1, "unknown": 1},
			CreatedLast24h: 7, RevokedLast24h: 2, GeneratedAt: got.GeneratedAt,
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("stats (-want +got):\n%s", d)
		}
		// The last session of a user going makes the user inactive.
		if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "t1", UserID: "u0"}}); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.Stats(ctx, "t1"); got.ActiveUsers != 2 {
			t.Errorf("active users after revoking u0: got %d, want 2", got.ActiveUsers)
		}
	})
}

// TestStatsDoNotScan: stats cost a fixed number of commands, whatever the
// tenant's size (checked with INFO commandstats: no SCAN, no ZRANGE).
func TestStatsDoNotScan(t *testing.T) {
	rdb := srv.NewClient(t)
	ctx := context.Background()
	st := New(rdb, Options{})
	for i := 0; i < 50; i++ {
		mustCreate(t, st, newSession("t1", "", "u", time.Hour))
	}
	if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stats(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	info, _ := rdb.Info(ctx, "commandstats").Result()
	for _, bad := range []string{"cmdstat_scan", "cmdstat_zrange", "cmdstat_hgetall", "cmdstat_keys", "cmdstat_zscan"} {
		if strings.Contains(info, bad+":") {
			t.Errorf("stats used %s:\n%s", bad, info)
		}
	}
}

// TestRevokeWaitShortfall: with WAIT asking for a replica that does not exist,
// the revocation still happens on the primary, its event is still written,
// and the caller is told it is not durable (ErrUnavailable).
func TestRevokeWaitShortfall(t *testing.T) {
	rdb := srv.NewClient(t)
	ctx := context.Background()
	st := New(rdb, Options{WaitReplicas: 1, WaitTimeout: 50 * time.Millisecond})
	s := newSession("t1", "p1", "u1", time.Hour)
	mustCreate(t, st, s)
	got, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "t1"}, IDs: []string{s.ID}, Reason: "admin_revoke"})
	if !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("revoke without replicas: got %v, want ErrUnavailable", err)
	}
	if len(got) != 1 {
		t.Errorf("revoked %d, want 1 (the primary applied it)", len(got))
	}
	if _, err := st.Get(ctx, s.ID); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("session after the revoke: %v, want ErrNotFound", err)
	}
	evs, err := st.EventsAfter(ctx, "", 10, 0)
	if err != nil || len(evs) != 1 || evs[0].SessionID != s.ID {
		t.Errorf("events: %+v, %v; want the revocation of %s", evs, err, s.ID)
	}
	if n := len(viewOf(t, st, rdb, "")); n != 0 {
		t.Errorf("global view still holds %d members", n)
	}
}
