package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// Keys of the service's own data as versions before the '#' tag space named
// them (keys.go). Nothing a tenant owns has these names: a tenant's keys
// carry a suffix after the tag, and no tenant key starts with tn: or ev:.
// The old sweep lock of the global view, lk:{g}:sweep, is a tenant "g"'s
// sweep lock now; it expires by itself.
const (
	legacyGlobalViewKey = "ix:{g}"
	legacyTenantsKey    = "tn:{g}"
	legacyEventsKey     = "ev:{revocations}"
)

// upgradeBatch bounds the members or entries one step of Upgrade moves.
const upgradeBatch = 500

// UpgradeResult counts what Upgrade moved.
type UpgradeResult struct {
	Tenants int // tenant list members
	Views   int // global view members
	Events  int // revocation events
}

// Upgrade moves the data an older version kept under the legacy keys to
// the current ones, in bounded steps: the tenant list and the global view
// member by member (ZADD GT, so a newer expiry already there wins), the
// events in order, each keeping its id when it is newer than the current
// stream's last (so that a follower resumes where it was), else getting a
// new one (delivered again: events are at least once). A legacy key is
// gone once emptied. Cross-slot moves cannot be atomic on Cluster: a crash
// between the copy and the removal copies that step again, which the GT
// and the fresh ids make harmless. sessiond runs it at start and the sweep
// runs it when legacy keys are left (an older instance of a rolling upgrade
// may still write them); one instance at a time, under a lock.
func (s *Store) Upgrade(ctx context.Context) (UpgradeResult, error) {
	var res UpgradeResult
	if err := s.claimViewLayout(ctx); err != nil {
		return res, err
	}
	// What an older version left under the '{g}' tags, and, with shards,
	// the single keys of the tenant list and the global view. A move's
	// source is "" when there is no such key.
	moves := []struct {
		from  string
		to    func(member string) string
		moved *int
	}{
		{legacyTenantsKey, s.views.tenantKey, &res.Tenants},
		{s.views.tenantLegacy(), s.views.tenantKey, &res.Tenants},
		{legacyGlobalViewKey, s.viewShardOfMember(""), &res.Views},
		{s.views.legacy(""), s.viewShardOfMember(""), &res.Views},
	}
	pipe := s.rdb.Pipeline()
	legacy := []*redis.IntCmd{pipe.Exists(ctx, legacyEventsKey)}
	for _, m := range moves {
		if m.from != "" {
			legacy = append(legacy, pipe.Exists(ctx, m.from))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return res, wrap("upgrade: legacy keys", err)
	}
	left := int64(0)
	for _, c := range legacy {
		left += c.Val()
	}
	if left == 0 {
		return res, nil
	}
	mine, err := s.sweepLock(ctx, upgradeLockKey)
	if err != nil || !mine {
		return res, err
	}
	// Released when done (it expires after the lock period otherwise), so
	// that the next sweep moves what an older instance wrote meanwhile.
	defer s.rdb.Del(context.WithoutCancel(ctx), upgradeLockKey)
	for _, m := range moves {
		if m.from == "" {
			continue
		}
		n, err := s.moveZSet(ctx, m.from, m.to)
		*m.moved += n
		if err != nil {
			return res, err
		}
	}
	res.Events, err = s.moveEvents(ctx)
	return res, err
}

// moveZSet moves every member of zset from to the zset to(member) names,
// keeping the higher score, and extends each target's expiry to from's.
func (s *Store) moveZSet(ctx context.Context, from string, to func(member string) string) (int, error) {
	until, err := s.rdb.PExpireTime(ctx, from).Result()
	if err != nil {
		return 0, wrap("upgrade: expiry of "+from, err)
	}
	n := 0
	for {
		zs, err := s.rdb.ZRangeWithScores(ctx, from, 0, upgradeBatch-1).Result()
		if err != nil || len(zs) == 0 {
			return n, wrap("upgrade: read "+from, err)
		}
		members := make([]any, len(zs))
		targets := map[string][]redis.Z{}
		for i, z := range zs {
			members[i] = z.Member
			m, _ := z.Member.(string)
			targets[to(m)] = append(targets[to(m)], z)
		}
		pipe := s.rdb.Pipeline()
		for key, part := range targets {
			pipe.ZAddGT(ctx, key, part...)
			if until > 0 {
				expireAtLeast(ctx, pipe, key, until.Milliseconds())
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return n, wrap("upgrade: write from "+from, err)
		}
		if err := s.rdb.ZRem(ctx, from, members...).Err(); err != nil {
			return n, wrap("upgrade: remove from "+from, err)
		}
		n += len(zs)
	}
}

// moveEvents moves the legacy stream's entries, oldest first, to the
// current stream, and trims it to the retention.
func (s *Store) moveEvents(ctx context.Context) (int, error) {
	last, err := s.LastEventID(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		msgs, err := s.rdb.XRangeN(ctx, legacyEventsKey, "-", "+", upgradeBatch).Result()
		if err != nil || len(msgs) == 0 {
			if err == nil && n > 0 {
				err = s.rdb.XTrimMaxLenApprox(ctx, eventsKey, s.retention, 0).Err()
			}
			return n, wrap("upgrade: events", err)
		}
		pipe := s.rdb.Pipeline()
		ids := make([]string, len(msgs))
		for i, m := range msgs {
			id := "*"
			if last == "" || compareIDs(m.ID, last) > 0 {
				id, last = m.ID, m.ID
			}
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: eventsKey, ID: id, Values: orderedValues(m)})
			ids[i] = m.ID
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return n, wrap("upgrade: write events", err)
		}
		if err := s.rdb.XDel(ctx, legacyEventsKey, ids...).Err(); err != nil {
			return n, wrap("upgrade: remove events", err)
		}
		if len(msgs) < upgradeBatch {
			// XDEL leaves an empty stream key behind.
			if err := s.dropIfEmpty(ctx, legacyEventsKey); err != nil {
				return n, err
			}
		}
		n += len(msgs)
	}
}

// dropIfEmpty deletes an empty stream (XDEL does not).
func (s *Store) dropIfEmpty(ctx context.Context, key string) error {
	err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		n, err := tx.XLen(ctx, key).Result()
		if err != nil || n > 0 {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Del(ctx, key); return nil })
		return err
	}, key)
	if errors.Is(err, redis.TxFailedErr) {
		return nil // written meanwhile: the next Upgrade moves it
	}
	return wrap("upgrade: drop "+key, err)
}

// orderedValues is an event's fields in a fixed order (a map has none).
func orderedValues(m redis.XMessage) []any {
	out := make([]any, 0, 2*len(m.Values))
	for _, k := range eventFields {
		if v, ok := m.Values[k]; ok {
			out = append(out, k, v)
		}
	}
	return out
}

// eventFields are the fields append_events.lua writes, in its order, and
// those of an older version's one-event entries.
var eventFields = []string{"type", "session_id", "user_id", "tenant_id", "partner_id", "revoked_at", "reason", "actor",
	"n", "session_ids", "user_ids"}
