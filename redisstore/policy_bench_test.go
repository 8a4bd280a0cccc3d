package redisstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/sessiond/sessiond/pkg/session"
)

// BenchmarkCreatePolicy is the cost of one Create on a real redis-server:
// without a policy; with a limit that is not reached (the user's live
// sessions are read and declared); and at the limit, where every create
// also evicts the user's oldest session (a revocation: record, relay,
// events) with history on and off. Run side by side in one run:
//
//	go test ./redisstore -run '^$' -bench CreatePolicy -benchtime 3000x
func BenchmarkCreatePolicy(b *testing.B) {
	cases := []struct {
		name    string
		policy  session.Policy
		history time.Duration
		oneUser bool
	}{
		{name: "no-policy"},
		{name: "limit-not-reached", policy: session.Policy{MaxSessionsPerUser: 1000}},
		{name: "evict-history-off", policy: session.Policy{MaxSessionsPerUser: 3}, oneUser: true},
		{name: "evict-history-on", policy: session.Policy{MaxSessionsPerUser: 3}, history: time.Hour, oneUser: true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			rdb := srv.NewClient(b)
			st := New(rdb, Options{HistoryRetention: tc.history})
			ctx := context.Background()
			if err := st.SetPolicy(ctx, "tb", tc.policy); err != nil {
				b.Fatal(err)
			}
			i := 0
			next := func() *session.Session {
				i++
				user := "u" + strconv.Itoa(i)
				if tc.oneUser {
					user = "u"
				}
				s := newSession("tb", "p1", user, time.Hour)
				s.UserAgent = benchUA
				return s
			}
			for range 3 { // the user is at the limit from the first timed create
				mustCreate(b, st, next())
			}
			evicted := 0
			for b.Loop() {
				s := next()
				if err := st.Create(ctx, s); err != nil {
					b.Fatal(err)
				}
				evicted += len(s.Evicted)
			}
			b.ReportMetric(float64(evicted)/float64(b.N), "evictions/op")
		})
	}
}
