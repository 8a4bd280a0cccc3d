package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/pkg/session"
)

// mustFill puts a noeviction server over maxmemory: every command that may
// grow memory fails with OOM from then on.
func mustFill(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	ctx := context.Background()
	if err := rdb.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatalf("CONFIG SET maxmemory: %v", err)
	}
	t.Cleanup(func() { _ = rdb.ConfigSet(context.Background(), "maxmemory", "0").Err() })
	if err := rdb.Set(ctx, "probe", "x", 0).Err(); !redis.HasErrorPrefix(err, "OOM") {
		t.Fatalf("SET on a full server: got %v, want OOM", err)
	}
}

// TestStoreFull: on a full Redis (maxmemory reached, noeviction) a create
// and a touch fail with session.ErrStoreFull and write nothing, while a
// revocation, its events and the sweep still run: they free memory.
func TestStoreFull(t *testing.T) {
	srv := testredis.Start(t, "--maxmemory-policy", "noeviction")
	rdb := srv.NewClient(t)
	ctx := context.Background()
	clock := time.Now()
	st := New(rdb, Options{Now: func() time.Time { return clock }, SweepLock: time.Second})
	live := newSession("t1", "p1", "u1", time.Hour)
	short := newSession("t1", "p1", "u2", time.Minute)
	other := newSession("t1", "p1", "u3", time.Hour)
	for _, s := range []*session.Session{live, short, other} {
		mustCreate(t, st, s)
	}
	keysBefore, _ := rdb.DBSize(ctx).Result()
	mustFill(t, rdb)

	fresh := newSession("t1", "p1", "u9", time.Hour)
	if err := st.Create(ctx, fresh); !errors.Is(err, session.ErrStoreFull) {
		t.Errorf("create on a full store: got %v, want ErrStoreFull", err)
	}
	if err := st.Touch(ctx, "t1", live.ID, session.Activity{AppID: "a1"}); !errors.Is(err, session.ErrStoreFull) {
		t.Errorf("touch on a full store: got %v, want ErrStoreFull", err)
	}
	if n, _ := rdb.DBSize(ctx).Result(); n != keysBefore {
		t.Errorf("keys after refused writes: got %d, want %d", n, keysBefore)
	}

	got, err := st.Revoke(ctx, session.Revocation{IDs: []string{live.ID}, Filter: session.Filter{TenantID: "t1"}, Reason: "admin_revoke", Actor: "root"})
	if err != nil || len(got) != 1 {
		t.Fatalf("revoke on a full store: %v, %v; want 1 revoked", got, err)
	}
	if _, err := st.GetInTenant(ctx, "t1", live.ID); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("get after the revoke: %v, want ErrNotFound", err)
	}
	evs, err := st.EventsAfter(ctx, "", 10, 0)
	if err != nil || len(evs) != 1 || evs[0].SessionID != live.ID || evs[0].Actor != "root" {
		t.Errorf("events after the revoke: %+v, %v; want one for %s by root", evs, err, live.ID)
	}

	// The sweep prunes what expired, full or not; it says that the steps
	// that add data (the views' outbox) wait for memory.
	clock = clock.Add(2 * time.Minute)
	res, err := st.Sweep(ctx)
	if !errors.Is(err, session.ErrStoreFull) {
		t.Errorf("sweep on a full store: got %v, want ErrStoreFull", err)
	}
	if res.Pruned == 0 {
		t.Errorf("sweep on a full store pruned nothing, want %s's entries", short.ID)
	}
	if n, _ := rdb.ZCard(ctx, tenantKeys("t1").all()).Result(); n != 1 {
		t.Errorf("tenant index after the sweep: %d members, want 1 (%s)", n, other.ID)
	}
}
