package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// Stats reads a tenant's figures in one round trip to its slot: ZCOUNTs on
// the tenant, users and device indexes (O(log n) each) and the 24 hourly
// created/revoked counters (O(buckets)). The 24h figures cover the current
// UTC hour and the 23 before it.
func (s *Store) Stats(ctx context.Context, tenantID string) (session.Stats, error) {
	k := tenantKeys(tenantID)
	now := s.now()
	minArg := "(" + itoa(ms(now))
	hours := make([]string, 0, 24)
	revHours := make([]string, 0, 24)
	for h := 0; h < 24; h++ {
		t := now.Add(-time.Duration(h) * time.Hour)
		hours = append(hours, k.created(t))
		revHours = append(revHours, k.revoked(t))
	}
	pipe := s.rdb.Pipeline()
	active := pipe.ZCount(ctx, k.all(), minArg, "+inf")
	users := pipe.ZCount(ctx, k.users(), minArg, "+inf")
	devices := make([]*redis.IntCmd, len(session.DeviceTypes))
	for i, d := range session.DeviceTypes {
		devices[i] = pipe.ZCount(ctx, k.device(d), minArg, "+inf")
	}
	created := pipe.MGet(ctx, hours...)
	revoked := pipe.MGet(ctx, revHours...)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return session.Stats{}, wrap("stats", err)
	}
	st := session.Stats{
		TenantID:       tenantID,
		ActiveSessions: active.Val(),
		ActiveUsers:    users.Val(),
		ByDeviceType:   make(map[string]int64, len(session.DeviceTypes)),
		CreatedLast24h: sumCounters(created.Val()),
		RevokedLast24h: sumCounters(revoked.Val()),
		GeneratedAt:    now.UTC(),
	}
	for i, d := range session.DeviceTypes {
		st.ByDeviceType[d] = devices[i].Val()
	}
	return st, nil
}

func sumCounters(vals []any) int64 {
	var n int64
	for _, v := range vals {
		if str, ok := v.(string); ok {
			n += atoi(str)
		}
	}
	return n
}
