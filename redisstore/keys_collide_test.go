package redisstore

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/config"
	"github.com/sessiond/sessiond/pkg/session"
)

// hashTag is the part of key Redis Cluster hashes: between the first '{'
// and the next '}', when not empty.
func hashTag(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return key
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return key
	}
	return key[i+1 : i+1+j]
}

// TestInternalKeysHaveTheirOwnTags: no tenant, partner, user or session id
// that the id rules accept produces a key, or a hash tag, of the service's
// own keys, including ids chosen to look like them.
func TestInternalKeysHaveTheirOwnTags(t *testing.T) {
	views := newViewLayout(config.DefaultClusterViewShards)
	internal := append([]string{globalViewKey, globalSweepLockKey, upgradeLockKey, tenantsKey, eventsKey, eventsCountKey, viewLayoutKey},
		append(views.shards(""), views.tenants...)...)
	tags := map[string]bool{}
	for _, k := range internal {
		tags[hashTag(k)] = true
	}
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for _, id := range []string{"g", "revocations", "#g", "p", "u", "p:g", "u:g", "sweep", "all", "users"} {
		var owned []string // keys an id of some kind produces
		if session.ValidTenantID(id) {
			k := tenantKeys(id)
			owned = append(owned, k.session("s1"), k.all(), k.user("u1"), k.device("desktop"), k.users(),
				k.outbox(), k.partner(), k.adoption(), k.sweepLock(), k.records(), k.created(now), k.revoked(now),
				partnerTenantsKey(id), partnerViewKey(id))
			owned = append(owned, views.shards(id)...)
		}
		if session.ValidID(id) {
			owned = append(owned, pointerKey(id), tenantKeys("t1").session(id))
		}
		if session.ValidUserID(id) {
			owned = append(owned, userTenantsKey(id), tenantKeys("t1").user(id))
		}
		for _, k := range owned {
			if slices.Contains(internal, k) {
				t.Errorf("id %q produces the internal key %s", id, k)
			}
			if tags[hashTag(k)] {
				t.Errorf("id %q produces key %s, tagged like an internal key", id, k)
			}
		}
	}
}

// TestSweepWithTenantG: a tenant named "g" neither takes the global view's
// sweep lock nor keeps the global view from being pruned.
func TestSweepWithTenantG(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clock := time.Now()
		st := New(rdb, Options{Now: func() time.Time { return clock }, SweepLock: time.Hour})
		// Tenant g has a live session, so the sweep visits it.
		mustCreate(t, st, newSession("g", "", "u1", time.Hour))
		for _, tenant := range []string{"g", "t1"} {
			mustCreate(t, st, newSession(tenant, "", "u2", time.Minute))
		}
		clock = clock.Add(2 * time.Minute)
		res, err := st.Sweep(ctx)
		if err != nil || res.Tenants != 1 {
			t.Fatalf("sweep: visited %d tenants (%v), want 1", res.Tenants, err)
		}
		if n := len(viewOf(t, st, rdb, "")); n != 1 {
			t.Errorf("global view after the sweep: %d members, want 1 (the live one)", n)
		}
	})
}

// TestUpgradeLegacyKeys: data an older version kept under {g} and
// {revocations} moves to the current keys, where listing, the sweep and the
// events (ids kept, so followers resume) find it; the legacy keys go.
func TestUpgradeLegacyKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{})
		var live []string
		for i, tenant := range []string{"t1", "t2", "g"} {
			s := newSession(tenant, "", "u"+itoa(int64(i)), time.Hour)
			mustCreate(t, st, s)
			live = append(live, s.ID)
		}
		gone := newSession("t1", "", "u9", time.Hour)
		mustCreate(t, st, gone)
		if _, err := st.Revoke(ctx, session.Revocation{IDs: []string{gone.ID}, Filter: session.Filter{TenantID: "t1"}, Reason: "admin_revoke", Actor: "root"}); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		before, err := st.EventsAfter(ctx, "", 10, 0)
		if err != nil || len(before) != 1 {
			t.Fatalf("events before: %v, %v", before, err)
		}
		// What an older version left: the same data under the legacy names.
		mustMoveAll(t, rdb, st.views.tenantReadKeys(), legacyTenantsKey)
		mustMoveAll(t, rdb, st.views.readKeys(""), legacyGlobalViewKey)
		for _, m := range mustXRange(t, rdb, eventsKey) {
			if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: legacyEventsKey, ID: m.ID, Values: orderedValues(m)}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := rdb.Del(ctx, eventsKey).Err(); err != nil {
			t.Fatal(err)
		}
		if got := mustList(t, st, session.Filter{}, 1, 10); got.Total != 0 {
			t.Fatalf("global list before the upgrade: %d, want 0 (the data is under legacy keys)", got.Total)
		}

		res, err := st.Upgrade(ctx)
		if err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		if res.Tenants != 3 || res.Views != 3 || res.Events != 1 {
			t.Errorf("upgrade moved %+v, want 3 tenants, 3 view members, 1 event", res)
		}
		got := mustList(t, st, session.Filter{}, 1, 10)
		if !slices.Equal(slices.Sorted(slices.Values(ids(got.Items))), slices.Sorted(slices.Values(live))) {
			t.Errorf("global list after the upgrade: %v, want %v", ids(got.Items), live)
		}
		after, err := st.EventsAfter(ctx, "", 10, 0)
		if err != nil || len(after) != 1 || after[0] != before[0] {
			t.Errorf("events after the upgrade: %+v (%v), want %+v", after, err, before)
		}
		for _, k := range []string{legacyTenantsKey, legacyGlobalViewKey, legacyEventsKey} {
			if n, _ := rdb.Exists(ctx, k).Result(); n != 0 {
				t.Errorf("legacy key %s is still there", k)
			}
		}
		// An older instance writing on (a rolling upgrade): the sweep moves it.
		if err := rdb.ZAdd(ctx, legacyGlobalViewKey, redis.Z{Score: float64(time.Now().Add(time.Hour).UnixMilli()), Member: viewMember("t1", live[0])}).Err(); err != nil {
			t.Fatal(err)
		}
		if sw, err := st.Sweep(ctx); err != nil || sw.Upgraded != 1 {
			t.Errorf("sweep with a legacy view member: upgraded %d (%v), want 1", sw.Upgraded, err)
		}
	})
}

// mustMoveAll moves every member of the keys to the key to.
func mustMoveAll(tb testing.TB, rdb redis.UniversalClient, keys []string, to string) {
	tb.Helper()
	ctx := context.Background()
	var zs []redis.Z
	for _, key := range keys {
		got, err := rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
		if err != nil {
			tb.Fatal(err)
		}
		zs = append(zs, got...)
	}
	if len(zs) == 0 {
		tb.Fatalf("%v are empty", keys)
	}
	if err := rdb.ZAdd(ctx, to, zs...).Err(); err != nil {
		tb.Fatal(err)
	}
	for _, key := range keys {
		if err := rdb.Del(ctx, key).Err(); err != nil {
			tb.Fatal(err)
		}
	}
}

func mustXRange(tb testing.TB, rdb redis.UniversalClient, key string) []redis.XMessage {
	tb.Helper()
	msgs, err := rdb.XRange(context.Background(), key, "-", "+").Result()
	if err != nil {
		tb.Fatal(err)
	}
	return msgs
}
