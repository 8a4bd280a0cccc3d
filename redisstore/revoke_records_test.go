package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// revokeScriptOnly runs the tenant-slot steps of a revocation of every
// session of tenantID and nothing after them, as a process that dies right
// after each script (or whose script replies are all lost) would. It returns
// how many sessions the scripts revoked.
func revokeScriptOnly(tb testing.TB, st *Store, tenantID string, r session.Revocation) int {
	tb.Helper()
	t := scriptOnlyRevocation(tb, st, tenantID, r)
	n := 0
	for {
		call, err := t.nextBatch(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		if call == nil {
			return n
		}
		n += runScriptOnly(tb, st, call)
	}
}

// revokeIDsScriptOnly is revokeScriptOnly for the given sessions of tenantID
// (one batch).
func revokeIDsScriptOnly(tb testing.TB, st *Store, tenantID string, ids ...string) int {
	tb.Helper()
	t := scriptOnlyRevocation(tb, st, tenantID, session.Revocation{IDs: ids})
	call, err := t.nextBatch(context.Background())
	if err != nil || call == nil {
		tb.Fatalf("first batch: %v, %v", call, err)
	}
	return runScriptOnly(tb, st, call)
}

// scriptOnlyRevocation starts a revocation of tenantID as Revoke does.
func scriptOnlyRevocation(tb testing.TB, st *Store, tenantID string, r session.Revocation) *tenantRevocation {
	tb.Helper()
	now := st.now().Truncate(time.Millisecond)
	if err := st.beginRevoke(context.Background(), tenantID, now); err != nil {
		tb.Fatal(err)
	}
	t, err := st.newTenantRevocation(tenantID, "", r, now)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// runScriptOnly runs one revoke_batch.lua call and nothing after it; it
// returns how many sessions it revoked.
func runScriptOnly(tb testing.TB, st *Store, c *revokeBatchCall) int {
	tb.Helper()
	reply, err := st.runDurable(context.Background(), *c)
	if err != nil {
		tb.Fatalf("revoke script: %v", err)
	}
	b, _, _, err := parseRevokeReply(c.recordID, reply)
	if err != nil {
		tb.Fatal(err)
	}
	if b == nil {
		return 0
	}
	return len(b.revoked)
}

// TestSweepRelaysRevocationRecords: whatever happens after a batch's
// tenant-slot step (the process dies, the events pipeline fails), the
// sweep writes the batch's events from its record, with their reason and
// actor, and drops the id pointers and view members; a revocation that
// went through leaves no record, so the sweep repeats nothing.
func TestSweepRelaysRevocationRecords(t *testing.T) {
	r := session.Revocation{Filter: session.Filter{TenantID: "t1"}, Reason: "admin_revoke_all", Actor: "root"}
	cases := []struct {
		name string
		ttl  time.Duration
		// revoke revokes tenant t1 and returns how many sessions it revoked.
		revoke func(t *testing.T, st *Store, rdb redis.UniversalClient) int
		// relayed: the events are the sweep's to write.
		relayed bool
	}{
		{"no failure", time.Hour, func(t *testing.T, st *Store, rdb redis.UniversalClient) int {
			got, err := st.Revoke(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			return len(got)
		}, false},
		{"crash after each script", time.Hour, func(t *testing.T, st *Store, rdb redis.UniversalClient) int {
			return revokeScriptOnly(t, st, "t1", r)
		}, true},
		{"crash, then the tenant's sessions expire", 3 * time.Second, func(t *testing.T, st *Store, rdb redis.UniversalClient) int {
			return revokeScriptOnly(t, st, "t1", r)
		}, true},
		{"events pipeline fails", time.Hour, func(t *testing.T, st *Store, rdb redis.UniversalClient) int {
			ctx := context.Background()
			// XADD then fails with WRONGTYPE; the rest of the pipeline runs.
			if err := rdb.Set(ctx, eventsKey, "not a stream", 0).Err(); err != nil {
				t.Fatal(err)
			}
			got, err := st.Revoke(ctx, r)
			if err == nil {
				t.Fatal("revoke with a broken events stream: got nil error")
			}
			// The client retries once the stream is back; it revokes the rest.
			if err := rdb.Del(ctx, eventsKey).Err(); err != nil {
				t.Fatal(err)
			}
			rest, err := st.Revoke(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			return len(got) + len(rest)
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
				ctx := context.Background()
				clock := time.Now()
				st := New(rdb, Options{RevokeBatch: 2, Now: func() time.Time { return clock }})
				var made []*session.Session
				for i := 0; i < 5; i++ {
					s := newSession("t1", "p1", "u"+itoa(int64(i%2)), tc.ttl)
					mustCreate(t, st, s)
					made = append(made, s)
				}
				other := newSession("t2", "p1", "u0", time.Hour)
				mustCreate(t, st, other)

				if n := tc.revoke(t, st, rdb); n != len(made) && !tc.relayed {
					t.Fatalf("revoked %d, want %d", n, len(made))
				}
				for _, s := range made {
					if _, err := st.GetInTenant(ctx, "t1", s.ID); !errors.Is(err, session.ErrNotFound) {
						t.Errorf("session %s after its revocation: %v, want ErrNotFound", s.ID, err)
					}
				}
				events := func() []session.Event {
					t.Helper()
					evs, err := st.EventsAfter(ctx, "", 100, 0)
					if err != nil {
						t.Fatal(err)
					}
					return evs
				}
				if tc.relayed {
					before := len(events())
					if before >= len(made) {
						t.Errorf("%d events before the sweep, want fewer than %d (the step that writes them did not run)", before, len(made))
					}
					// Within the grace period the records are the request's.
					if n, err := st.relayRevocations(ctx, "t1", ms(clock)); err != nil || n != 0 {
						t.Errorf("relayed %d within the grace period, %v; want 0, nil", n, err)
					}
					if n := len(events()); n != before {
						t.Errorf("the sweep relayed %d events within the grace period, want 0", n-before)
					}
					if n, _ := rdb.HLen(ctx, tenantKeys("t1").records()).Result(); n == 0 {
						t.Errorf("no revocation record left for the sweep")
					}
				}

				clock = clock.Add(relayGrace + time.Minute)
				if _, err := st.Sweep(ctx); err != nil {
					t.Fatal(err)
				}
				// Relaying again repeats nothing (a second sweep would skip
				// the tenant: its sweep lock is held).
				clock = clock.Add(relayGrace + time.Minute)
				if n, err := st.relayRevocations(ctx, "t1", ms(clock)); err != nil || n != 0 {
					t.Errorf("relayed %d again, %v; want 0, nil", n, err)
				}

				var want, got []session.Event
				for _, s := range made {
					want = append(want, session.Event{Type: session.EventRevoked, SessionID: s.ID, UserID: s.UserID,
						TenantID: "t1", PartnerID: "p1", Reason: r.Reason, Actor: r.Actor})
				}
				got = events()
				byID := func(a, b session.Event) bool { return a.SessionID < b.SessionID }
				if d := cmp.Diff(want, got, cmpopts.SortSlices(byID), cmpopts.IgnoreFields(session.Event{}, "ID", "RevokedAt")); d != "" {
					t.Errorf("events after the sweeps, once each (-want +got):\n%s", d)
				}
				for _, e := range got {
					if e.RevokedAt.IsZero() {
						t.Errorf("event of %s has no revoked_at", e.SessionID)
					}
				}
				for _, s := range made {
					if n, _ := rdb.Exists(ctx, pointerKey(s.ID)).Result(); n != 0 {
						t.Errorf("id pointer of revoked %s left behind", s.ID)
					}
				}
				for _, p := range []string{"", "p1"} {
					if d := cmp.Diff([]string{viewMember("t2", other.ID)}, viewMembersOf(t, st, rdb, p)); d != "" {
						t.Errorf("view %q (-want +got):\n%s", p, d)
					}
				}
				if n, _ := rdb.Exists(ctx, tenantKeys("t1").records()).Result(); n != 0 {
					t.Errorf("revocation records left after the sweep")
				}
			})
		})
	}
}

// TestRevocationRecordRoundTrip: what the script records decodes into the
// sessions it revoked, with the tenant's partner, reason and actor.
func TestRevocationRecordRoundTrip(t *testing.T) {
	cases := []struct {
		name    string
		partner string
		actor   string
	}{
		{"with partner", "p1", "root"},
		{"without partner", "", ""},
		{"actor with separators and quotes", "p1", "a\"b\x1fc\nd"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rdb := srv.NewClient(t)
			ctx := context.Background()
			st := New(rdb, Options{})
			s := newSession("t1", tc.partner, "alice@example.com", time.Hour)
			mustCreate(t, st, s)
			r := session.Revocation{Filter: session.Filter{TenantID: "t1"}, Reason: "user_revoke", Actor: tc.actor}
			r.IDs = []string{s.ID, "missing"}
			now := time.Now().Truncate(time.Millisecond)
			tr, err := st.newTenantRevocation("t1", "", r, now)
			if err != nil {
				t.Fatal(err)
			}
			c, err := tr.nextBatch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			reply, err := st.runDurable(ctx, *c)
			if err != nil {
				t.Fatal(err)
			}
			b, examined, kept, err := parseRevokeReply(c.recordID, reply)
			if err != nil || examined != 2 || kept != 0 || b == nil {
				t.Fatalf("reply: batch %v, examined %d, kept %d, %v; want a batch, 2, 0, nil", b, examined, kept, err)
			}
			stored, err := rdb.HGet(ctx, tenantKeys("t1").records(), c.recordID).Result()
			if err != nil {
				t.Fatalf("record %s: %v", c.recordID, err)
			}
			fromStore, err := decodeRecord(c.recordID, stored)
			if err != nil {
				t.Fatal(err)
			}
			want := &revokedBatch{
				id:      c.recordID,
				header:  recordHeader{Tenant: "t1", Partner: tc.partner, Reason: r.Reason, Actor: tc.actor, At: ms(now)},
				revoked: []session.Revoked{{ID: s.ID, UserID: s.UserID, TenantID: "t1", PartnerID: tc.partner}},
			}
			for _, got := range []*revokedBatch{b, fromStore} {
				if d := cmp.Diff(want, got, cmp.AllowUnexported(revokedBatch{})); d != "" {
					t.Errorf("record (-want +got):\n%s", d)
				}
			}
		})
	}
}
