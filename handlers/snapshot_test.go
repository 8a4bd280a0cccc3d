package handlers_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// snapshot is the whole content of a Redis database (not the TTLs), to prove
// that a refused request changed nothing.
type snapshot struct {
	DBSize int64
	Keys   map[string]any
}

func mustSnapshot(tb testing.TB, rdb redis.UniversalClient) snapshot {
	tb.Helper()
	ctx := context.Background()
	keys := mustKeys(tb, rdb, "*")
	slices.Sort(keys)
	s := snapshot{Keys: map[string]any{}}
	var err error
	if s.DBSize, err = rdb.DBSize(ctx).Result(); err != nil {
		tb.Fatalf("DBSIZE: %v", err)
	}
	for _, k := range keys {
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			tb.Fatalf("TYPE %s: %v", k, err)
		}
		var v any
		switch typ {
		case "string":
			v, err = rdb.Get(ctx, k).Result()
		case "hash":
			v, err = rdb.HGetAll(ctx, k).Result()
		case "zset":
			v, err = rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		case "set":
			var m []string
			m, err = rdb.SMembers(ctx, k).Result()
			slices.Sort(m)
			v = m
		case "list":
			v, err = rdb.LRange(ctx, k, 0, -1).Result()
		default:
			v = typ
		}
		if err != nil && err != redis.Nil {
			tb.Fatalf("read %s %s: %v", typ, k, err)
		}
		s.Keys[k] = v
	}
	return s
}

// mustUnchanged fails when the database differs from before.
func mustUnchanged(tb testing.TB, rdb redis.UniversalClient, before snapshot) {
	tb.Helper()
	if diff := cmp.Diff(before, mustSnapshot(tb, rdb)); diff != "" {
		tb.Errorf("Redis changed (-before +after):\n%s", diff)
	}
}

// without drops the keys that start with any of prefixes (DBSize too).
func (s snapshot) without(prefixes ...string) snapshot {
	out := snapshot{Keys: map[string]any{}}
	for k, v := range s.Keys {
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
			out.Keys[k] = v
		}
	}
	out.DBSize = int64(len(out.Keys))
	return out
}
