package redisstore

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

func TestRevocationEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{RevokeBatch: 2})
		if last, err := st.LastEventID(ctx); err != nil || last != "" {
			t.Fatalf("empty log: last id %q, %v", last, err)
		}
		var made []*session.Session
		for i := 0; i < 5; i++ {
			s := newSession("t1", "p1", "u1", time.Hour)
			mustCreate(t, st, s)
			made = append(made, s)
		}
		if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "t1"}, IDs: []string{made[0].ID}, Reason: "admin_revoke", Actor: "root"}); err != nil {
			t.Fatal(err)
		}
		first, err := st.EventsAfter(ctx, "", 100, 0)
		if err != nil || len(first) != 1 {
			t.Fatalf("events: %d, %v; want 1", len(first), err)
		}
		want := session.Event{Type: session.EventRevoked, SessionID: made[0].ID, UserID: "u1", TenantID: "t1", PartnerID: "p1", Reason: "admin_revoke", Actor: "root"}
		if d := cmp.Diff(want, first[0], cmpopts.IgnoreFields(session.Event{}, "ID", "RevokedAt")); d != "" {
			t.Errorf("event (-want +got):\n%s", d)
		}
		if time.Since(first[0].RevokedAt) > time.Minute || first[0].ID == "" {
			t.Errorf("event id %q revoked at %v", first[0].ID, first[0].RevokedAt)
		}
		// A bulk revocation appends one event per session, across batches.
		if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{UserID: "u1"}, Reason: "user_revoke_others", Actor: "u1"}); err != nil {
			t.Fatal(err)
		}
		rest, err := st.EventsAfter(ctx, first[0].ID, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range rest {
			got = append(got, e.SessionID)
		}
		sort.Strings(got)
		wantIDs := []string{made[1].ID, made[2].ID, made[3].ID, made[4].ID}
		sort.Strings(wantIDs)
		if d := cmp.Diff(wantIDs, got); d != "" {
			t.Errorf("events after the first (-want +got):\n%s", d)
		}
		if last, _ := st.LastEventID(ctx); last != rest[len(rest)-1].ID {
			t.Errorf("last id %s, want %s", last, rest[len(rest)-1].ID)
		}
	})
}

func TestEventsAfterWaits(t *testing.T) {
	rdb := srv.NewClient(t)
	ctx := context.Background()
	st := New(rdb, Options{})
	s := newSession("t1", "", "u1", time.Hour)
	mustCreate(t, st, s)
	got := make(chan []session.Event, 1)
	go func() {
		evs, err := st.EventsAfter(ctx, "", 10, 5*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- evs
	}()
	time.Sleep(100 * time.Millisecond)
	if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "t1"}, IDs: []string{s.ID}}); err != nil {
		t.Fatal(err)
	}
	if evs := <-got; len(evs) != 1 || evs[0].SessionID != s.ID {
		t.Fatalf("waited events %+v, want the revocation of %s", evs, s.ID)
	}
}

func TestEventsTrimmed(t *testing.T) {
	rdb := srv.NewClient(t)
	ctx := context.Background()
	st := New(rdb, Options{EventRetention: 1})
	var first string
	for i := 0; i < 300; i++ {
		s := newSession("t1", "", "u1", time.Hour)
		mustCreate(t, st, s)
		if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "t1"}, IDs: []string{s.ID}}); err != nil {
			t.Fatal(err)
		}
		if first == "" {
			first, _ = st.LastEventID(ctx)
		}
	}
	if _, err := st.EventsAfter(ctx, first, 10, 0); !errors.Is(err, session.ErrEventsTrimmed) {
		t.Errorf("resume before retention: got %v, want ErrEventsTrimmed", err)
	}
	last, _ := st.LastEventID(ctx)
	if evs, err := st.EventsAfter(ctx, last, 10, 0); err != nil || len(evs) != 0 {
		t.Errorf("resume at the newest: %d events, %v; want 0, nil", len(evs), err)
	}
	if _, err := st.EventsAfter(ctx, "not-an-id", 10, 0); !errors.Is(err, session.ErrEventsTrimmed) {
		t.Errorf("malformed id: got %v, want ErrEventsTrimmed", err)
	}
}

// TestEventsResumeBeyondTheLog: a resume id the log does not hold (newer than
// its newest event, or any id on an empty log: data lost, or a failover to a
// replica that missed events) cannot be vouched for.
func TestEventsResumeBeyondTheLog(t *testing.T) {
	rdb := srv.NewClient(t)
	ctx := context.Background()
	st := New(rdb, Options{})
	if _, err := st.EventsAfter(ctx, "1700000000000-0", 10, 0); !errors.Is(err, session.ErrEventsTrimmed) {
		t.Errorf("empty log: got %v, want ErrEventsTrimmed", err)
	}
	s := newSession("t1", "", "u1", time.Hour)
	mustCreate(t, st, s)
	if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "t1"}, IDs: []string{s.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EventsAfter(ctx, "99999999999999-0", 10, 0); !errors.Is(err, session.ErrEventsTrimmed) {
		t.Errorf("id beyond the newest: got %v, want ErrEventsTrimmed", err)
	}
}

// TestEventBatchEntries: a bulk revocation appends one stream entry per
// batch; readers see one event per session, and a follower that resumes
// from any event id, inside a batch or at its end, reading any number at a
// time, gets exactly the events that follow: none replayed, none skipped.
func TestEventBatchEntries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{RevokeBatch: 3})
		made := map[string]bool{}
		for i := 0; i < 7; i++ {
			s := newSession("t1", "p1", "u1", time.Hour)
			mustCreate(t, st, s)
			made[s.ID] = true
		}
		before := newSession("t1", "p1", "u2", time.Hour)
		mustCreate(t, st, before)
		if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "t1"}, IDs: []string{before.ID}, Reason: "admin_revoke"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{UserID: "u1"}, Reason: "user_revoke_all", Actor: "u1"}); err != nil {
			t.Fatal(err)
		}
		if n := rdb.XLen(ctx, eventsKey).Val(); n != 4 {
			t.Errorf("stream entries: %d, want 4 (one revocation, then batches of 3, 3, 1)", n)
		}
		if n, _ := rdb.Get(ctx, eventsCountKey).Int(); n != 8 {
			t.Errorf("events counted: %d, want 8", n)
		}
		all, err := st.EventsAfter(ctx, "", 100, 0)
		if err != nil || len(all) != 8 {
			t.Fatalf("events: %d, %v; want 8", len(all), err)
		}
		if all[0].SessionID != before.ID || strings.Contains(all[0].ID, ".") {
			t.Errorf("a one-session entry's event: %+v (its id is the entry's)", all[0])
		}
		for _, e := range all[1:] {
			if !made[e.SessionID] || e.UserID != "u1" || e.Reason != "user_revoke_all" || e.Actor != "u1" || e.PartnerID != "p1" {
				t.Errorf("event %+v", e)
			}
			delete(made, e.SessionID)
		}
		if len(made) != 0 {
			t.Errorf("sessions without an event: %v", made)
		}
		ids := make([]string, len(all))
		for i, e := range all {
			ids[i] = e.ID
			if !session.ValidEventID(e.ID) {
				t.Errorf("event id %q is not a valid event id", e.ID)
			}
		}
		if last, _ := st.LastEventID(ctx); last != ids[len(ids)-1] {
			t.Errorf("last id %q, want %q", last, ids[len(ids)-1])
		}
		for i, from := range ids {
			for _, n := range []int{1, 2, 100} {
				var got []string
				after := from
				for round := 0; round < 20; round++ {
					evs, err := st.EventsAfter(ctx, after, n, 0)
					if err != nil {
						t.Fatalf("after %s by %d: %v", after, n, err)
					}
					if len(evs) > n {
						t.Fatalf("after %s: %d events, asked at most %d", after, len(evs), n)
					}
					if len(evs) == 0 {
						break
					}
					for _, e := range evs {
						got = append(got, e.ID)
					}
					after = evs[len(evs)-1].ID
				}
				if d := cmp.Diff(ids[i+1:], got, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("resume after %s (event %d) by %d (-want +got):\n%s", from, i, n, d)
				}
			}
		}
	})
}

// TestEventRetentionCountsEvents: the stream keeps about the retention in
// events, not entries: batches of 100 with a retention of 1000 keep ten
// entries; an older version's one-event entries count one each.
func TestEventRetentionCountsEvents(t *testing.T) {
	rdb := srv.NewClient(t)
	ctx := context.Background()
	// An older version's entries and no count.
	for i := 0; i < 5; i++ {
		rdb.XAdd(ctx, &redis.XAddArgs{Stream: eventsKey, Values: []any{"type", session.EventRevoked, "session_id", "old" + strconv.Itoa(i), "user_id", "u", "tenant_id", "t0"}})
	}
	st := New(rdb, Options{RevokeBatch: 100, EventRetention: 1000})
	for round := 0; round < 3; round++ {
		for i := 0; i < 900; i++ {
			mustCreate(t, st, newSession("t1", "", "u"+strconv.Itoa(i%7), time.Hour))
		}
		if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "t1"}, Reason: "tenant_revoke_all"}); err != nil {
			t.Fatal(err)
		}
		evs, err := st.EventsAfter(ctx, "", 5000, 0)
		if err != nil {
			t.Fatal(err)
		}
		counted, _ := rdb.Get(ctx, eventsCountKey).Int()
		if len(evs) > 1000 || len(evs) < 900 || counted != len(evs) {
			t.Errorf("round %d: %d events kept, %d counted; want 900..1000, equal", round, len(evs), counted)
		}
		if round == 0 && (len(evs) != 905 || evs[0].SessionID != "old0") {
			t.Errorf("the old entries count one each: %d events, first %+v", len(evs), evs[0])
		}
	}
	if n := rdb.XLen(ctx, eventsKey).Val(); n != 10 {
		t.Errorf("entries: %d, want 10 (batches of 100)", n)
	}
}
