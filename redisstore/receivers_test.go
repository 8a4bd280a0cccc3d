package redisstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/receiver"
	"github.com/sessiond/sessiond/pkg/session"
)

func TestReceivers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{})
		at := time.Now().UTC().Truncate(time.Millisecond)
		tr := receiver.TenantOwner("tr")
		var added []receiver.Receiver
		for i := 0; i < receiver.MaxPerOwner; i++ {
			r := receiver.Receiver{ID: fmt.Sprintf("r%02d", i), Owner: tr, URL: "https://rp.example/logout", Kind: receiver.KindCAEP,
				Audience: "rp", Events: []string{"admin_revoke"}, CreatedAt: at.Add(time.Duration(i) * time.Millisecond)}
			if err := st.AddReceiver(ctx, r); err != nil {
				t.Fatalf("add %d: %v", i, err)
			}
			added = append(added, r)
		}
		if err := st.AddReceiver(ctx, receiver.Receiver{ID: "one-too-many", Owner: tr, CreatedAt: at}); !errors.Is(err, receiver.ErrTooMany) {
			t.Errorf("add beyond the bound: %v, want ErrTooMany", err)
		}
		list, err := st.Receivers(ctx, tr)
		if err != nil || len(list) != receiver.MaxPerOwner || list[0].ID != "r00" || list[0].URL != added[0].URL || !list[0].CreatedAt.Equal(at) {
			t.Fatalf("receivers: %d, %+v, %v", len(list), list[0], err)
		}
		if other, err := st.Receivers(ctx, receiver.TenantOwner("other")); err != nil || len(other) != 0 {
			t.Errorf("another tenant's receivers: %v, %v", other, err)
		}
		if _, err := st.Receiver(ctx, receiver.TenantOwner("other"), "r00"); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("a receiver through another tenant: %v, want ErrNotFound", err)
		}

		// Failures: newest first, taken oldest first, gone with the receiver.
		for i := 0; i < 3; i++ {
			f := receiver.Failure{Event: session.Event{ID: fmt.Sprintf("1-%d", i), SessionID: "s", TenantID: "tr", RevokedAt: at},
				Attempts: 6, LastError: "503", At: at}
			if err := st.AddFailure(ctx, added[0], f); err != nil {
				t.Fatal(err)
			}
		}
		fs, err := st.Failures(ctx, tr, "r00")
		if err != nil || len(fs) != 3 || fs[0].Event.ID != "1-2" || fs[0].Attempts != 6 || !fs[0].Event.RevokedAt.Equal(at) {
			t.Fatalf("failures: %+v, %v", fs, err)
		}
		taken, err := st.TakeFailures(ctx, tr, "r00")
		if err != nil || len(taken) != 3 || taken[0].Event.ID != "1-0" {
			t.Fatalf("taken: %+v, %v", taken, err)
		}
		if fs, _ := st.Failures(ctx, tr, "r00"); len(fs) != 0 {
			t.Errorf("failures after taking them: %d", len(fs))
		}
		_ = st.AddFailure(ctx, added[0], receiver.Failure{Event: session.Event{ID: "2-0"}, At: at})
		if err := st.DeleteReceiver(ctx, tr, "r00"); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteReceiver(ctx, tr, "r00"); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("delete twice: %v, want ErrNotFound", err)
		}
		if keys := scanKeys(t, rdb, tenantKeys("tr").failures("r00")); len(keys) != 0 {
			t.Errorf("the deleted receiver's failures are left: %v", keys)
		}
	})
}

// TestReceiverOwnersApart: a tenant, a partner and the platform with the
// same receiver id and, for the first two, the same name keep apart
// receivers and failures, each bounded on its own.
func TestReceiverOwnersApart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{})
		owners := []receiver.Owner{receiver.TenantOwner("x"), receiver.PartnerOwner("x"), receiver.PlatformOwner()}
		for i, o := range owners {
			r := receiver.Receiver{ID: "same", Owner: o, URL: fmt.Sprintf("https://rp%d.example/", i), Kind: receiver.KindCAEP, Audience: "rp", CreatedAt: time.Now()}
			if err := st.AddReceiver(ctx, r); err != nil {
				t.Fatalf("%s: %v", o, err)
			}
			if err := st.AddFailure(ctx, r, receiver.Failure{Event: session.Event{ID: fmt.Sprintf("1-%d", i)}, At: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		for i, o := range owners {
			list, err := st.Receivers(ctx, o)
			if err != nil || len(list) != 1 || list[0].URL != fmt.Sprintf("https://rp%d.example/", i) || list[0].Owner != o {
				t.Errorf("%s: receivers %+v, %v", o, list, err)
			}
			fs, err := st.Failures(ctx, o, "same")
			if err != nil || len(fs) != 1 || fs[0].Event.ID != fmt.Sprintf("1-%d", i) {
				t.Errorf("%s: failures %+v, %v", o, fs, err)
			}
		}
		// The platform's bound is its own: the tenant's one receiver does
		// not count.
		for i := 1; i < receiver.MaxPerOwner; i++ {
			if err := st.AddReceiver(ctx, receiver.Receiver{ID: fmt.Sprintf("p%d", i), Owner: receiver.PlatformOwner(), CreatedAt: time.Now()}); err != nil {
				t.Fatalf("platform receiver %d: %v", i, err)
			}
		}
		if err := st.AddReceiver(ctx, receiver.Receiver{ID: "over", Owner: receiver.PlatformOwner(), CreatedAt: time.Now()}); !errors.Is(err, receiver.ErrTooMany) {
			t.Errorf("platform beyond its bound: %v", err)
		}
		if err := st.DeleteReceiver(ctx, receiver.PartnerOwner("x"), "same"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Receiver(ctx, receiver.TenantOwner("x"), "same"); err != nil {
			t.Errorf("the tenant's receiver after deleting the partner's: %v", err)
		}
	})
}

// TestPushQueue: two consumers split the stream; what one claimed and
// never acknowledged, the other takes over after the idle time.
func TestPushQueue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{})
		// The group starts at the stream's end: claim once to create it.
		if evs, err := st.Claim(ctx, "a", 10, 0); err != nil || len(evs) != 0 {
			t.Fatalf("first claim: %v, %v", evs, err)
		}
		for i := 0; i < 6; i++ {
			s := newSession("tq", "", "u1", time.Hour)
			mustCreate(t, st, s)
			if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "tq"}, IDs: []string{s.ID}, Reason: "admin_revoke"}); err != nil {
				t.Fatal(err)
			}
		}
		a, err := st.Claim(ctx, "a", 4, 0)
		if err != nil || len(a) != 4 {
			t.Fatalf("a claims: %d, %v", len(a), err)
		}
		b, err := st.Claim(ctx, "b", 10, 0)
		if err != nil || len(b) != 2 {
			t.Fatalf("b claims: %d, %v", len(b), err)
		}
		if err := st.Ack(ctx, a[0].ID, a[1].ID); err != nil {
			t.Fatal(err)
		}
		// a "dies" with two pending; b takes them over once they are idle.
		if got, err := st.Reclaim(ctx, "b", time.Hour, 10); err != nil || len(got) != 0 {
			t.Errorf("reclaim before the idle time: %d, %v", len(got), err)
		}
		// While a lives it extends what it works on: nothing is idle.
		time.Sleep(30 * time.Millisecond)
		if err := st.Extend(ctx, "a", a[2].ID, a[3].ID); err != nil {
			t.Fatal(err)
		}
		if err := st.Extend(ctx, "b", b[0].ID, b[1].ID); err != nil {
			t.Fatal(err)
		}
		if got, err := st.Reclaim(ctx, "b", 20*time.Millisecond, 10); err != nil || len(got) != 0 {
			t.Errorf("reclaim of extended entries: %d, %v", len(got), err)
		}
		time.Sleep(30 * time.Millisecond)
		got, err := st.Reclaim(ctx, "b", 20*time.Millisecond, 10)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, e := range got {
			ids[e.ID] = true
		}
		// b's own two pending are idle too: four in all, a's two among them.
		if len(got) != 4 || !ids[a[2].ID] || !ids[a[3].ID] || len(got[0].Events) != 1 ||
			got[0].Events[0].TenantID != "tq" || got[0].Events[0].Reason != "admin_revoke" {
			t.Errorf("reclaimed %+v, want a's two and b's two", got)
		}
	})
}

// TestPushQueueBatches: a bulk revocation is one queue entry per batch,
// holding the batch's events, acknowledged as one.
func TestPushQueueBatches(t *testing.T) {
	ctx := context.Background()
	st := New(srv.NewClient(t), Options{RevokeBatch: 3})
	if _, err := st.Claim(ctx, "a", 10, 0); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := 0; i < 7; i++ {
		s := newSession("tb", "pb", "u1", time.Hour)
		mustCreate(t, st, s)
		want[s.ID] = true
	}
	if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "tb"}, Reason: "tenant_revoke_all"}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Claim(ctx, "a", 10, 0)
	if err != nil || len(got) != 3 {
		t.Fatalf("claimed %d entries, %v; want 3 (batches of 3, 3, 1)", len(got), err)
	}
	var sizes []int
	for _, en := range got {
		sizes = append(sizes, len(en.Events))
		for _, e := range en.Events {
			if !want[e.SessionID] || e.TenantID != "tb" || e.PartnerID != "pb" || e.UserID != "u1" || e.Reason != "tenant_revoke_all" {
				t.Errorf("event %+v", e)
			}
			delete(want, e.SessionID)
		}
	}
	if len(want) != 0 || sizes[0] != 3 || sizes[2] != 1 {
		t.Errorf("entry sizes %v, sessions left %v", sizes, want)
	}
	if err := st.Ack(ctx, got[0].ID, got[1].ID, got[2].ID); err != nil {
		t.Fatal(err)
	}
	if left, err := st.Reclaim(ctx, "b", 0, 10); err != nil || len(left) != 0 {
		t.Errorf("pending after the ack: %d, %v", len(left), err)
	}
}
