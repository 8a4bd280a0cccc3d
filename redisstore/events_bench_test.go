package redisstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// BenchmarkEventStreamBytes reports the revocation stream's memory per
// revoked session (MEMORY USAGE … SAMPLES 0) after a tenant revoke-all of
// 10,000 sessions in batches of 500, beside the same events written one
// entry per session with the fields the previous version's script wrote
// (the baseline), in one run:
//
//	go test ./redisstore -run '^$' -bench EventStreamBytes -benchtime 1x
func BenchmarkEventStreamBytes(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	b.Run("entry-per-session", func(b *testing.B) {
		rdb := srv.NewClient(b)
		at := time.Now().UTC().Format(time.RFC3339Nano)
		for i := 0; i < b.N; i++ {
			pipe := rdb.Pipeline()
			for j := 0; j < n; j++ {
				pipe.XAdd(ctx, &redis.XAddArgs{Stream: eventsKey, Values: []any{"type", session.EventRevoked,
					"session_id", "sess-" + strconv.Itoa(j) + "-0123456789abcdef", "user_id", "user-" + strconv.Itoa(j%100),
					"tenant_id", "t-bench", "partner_id", "p-bench", "revoked_at", at, "reason", "tenant_revoke_all", "actor", "root"}})
			}
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rdb.MemoryUsage(ctx, eventsKey, 0).Val())/float64(n*b.N), "stream-B/session")
	})
	b.Run("entry-per-batch", func(b *testing.B) {
		rdb := srv.NewClient(b)
		st := New(rdb, Options{RevokeBatch: 500})
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			for j := 0; j < n; j++ {
				s := newSession("t-bench", "p-bench", "user-"+strconv.Itoa(j%100), time.Hour)
				s.ID = "sess-" + strconv.Itoa(j) + "-0123456789abcdef"
				mustCreate(b, st, s)
			}
			b.StartTimer()
			if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "t-bench"}, Reason: "tenant_revoke_all", Actor: "root"}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rdb.MemoryUsage(ctx, eventsKey, 0).Val())/float64(n*b.N), "stream-B/session")
	})
}
