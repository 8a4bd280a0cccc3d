package redisstore

import (
	"context"
	"errors"
	"sort"
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
