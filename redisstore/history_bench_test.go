package redisstore

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// redisMicros is the CPU time (µs) redis-server has used so far, from
// INFO cpu: what a benchmark costs the server, apart from the client.
func redisMicros(b *testing.B, rdb redis.UniversalClient) float64 {
	b.Helper()
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		for _, field := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), field); ok {
				f, _ := strconv.ParseFloat(v, 64)
				total += f * 1e6
			}
		}
	}
	return total
}

// scriptMicros is the calls and the time (µs) redis-server spent in
// EVALSHA so far, from INFO commandstats: the scripts' own cost, the
// commands they call included.
func scriptMicros(b *testing.B, rdb redis.UniversalClient) (calls, usec float64) {
	b.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_evalsha:")
		if !ok {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			f, _ := strconv.ParseFloat(v, 64)
			switch k {
			case "calls":
				calls = f
			case "usec":
				usec = f
			}
		}
	}
	return calls, usec
}

// BenchmarkCreateHistory is the cost of one Create with history off and on
// (on, create also keeps the tenant's and the user's union indexes):
//
//	go test ./redisstore -run '^$' -bench CreateHistory -benchtime 5000x
func BenchmarkCreateHistory(b *testing.B) {
	for _, tc := range []struct {
		name    string
		history time.Duration
	}{
		{name: "history-off"},
		{name: "history-on", history: time.Hour},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rdb := srv.NewClient(b)
			st := New(rdb, Options{HistoryRetention: tc.history})
			ctx := context.Background()
			i := 0
			before := redisMicros(b, rdb)
			calls0, usec0 := scriptMicros(b, rdb)
			for b.Loop() {
				i++
				s := newSession("tb", "p1", "u"+strconv.Itoa(i%100), time.Hour+time.Duration(i)*time.Millisecond)
				if err := st.Create(ctx, s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((redisMicros(b, rdb)-before)/float64(b.N), "redis-cpu-µs/op")
			calls, usec := scriptMicros(b, rdb)
			b.ReportMetric((usec-usec0)/(calls-calls0), "script-µs/call")
		})
	}
}

// BenchmarkListHistory is one page (50 items) of a tenant's and of a user's
// active and ended sessions at the first page and deep in the list: 100,000
// sessions of the tenant, every other one revoked (ended), the two kinds
// interleaved in the listing order; the user "u0" has 14,286 of them, half
// of them ended.
//
//	go test ./redisstore -run '^$' -bench ListHistory -benchtime 2000x
func BenchmarkListHistory(b *testing.B) {
	const n, per = 100000, 50
	rdb := srv.NewClient(b)
	st := New(rdb, Options{HistoryRetention: time.Hour, HistoryMax: n, RevokeBatch: 1000})
	ctx := context.Background()
	var revoke []string
	for i := range n {
		s := newSession("tl", "p1", "u"+strconv.Itoa(i%7), time.Hour+time.Duration(i)*time.Second)
		mustCreate(b, st, s)
		if i%2 == 1 {
			revoke = append(revoke, s.ID)
		}
	}
	for i := 0; i < len(revoke); i += 5000 {
		ids := revoke[i:min(i+5000, len(revoke))]
		if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "tl"}, IDs: ids, Reason: "admin_revoke"}); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		f     session.Filter
		page  int
		total int64
	}{
		{name: "tenant-page-1", f: session.Filter{TenantID: "tl"}, page: 1, total: n},
		{name: "tenant-offset-90k", f: session.Filter{TenantID: "tl"}, page: 90000/per + 1, total: n},
		{name: "user-page-1", f: session.Filter{TenantID: "tl", UserID: "u0"}, page: 1, total: n/7 + 1},
		{name: "user-offset-13k", f: session.Filter{TenantID: "tl", UserID: "u0"}, page: 13000/per + 1, total: n/7 + 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tc.f.WithEnded = true
			before := redisMicros(b, rdb)
			calls0, usec0 := scriptMicros(b, rdb)
			for b.Loop() {
				res, err := st.List(ctx, tc.f, session.Page{Number: tc.page, PerPage: per})
				if err != nil {
					b.Fatal(err)
				}
				if res.Total != tc.total || len(res.Items) != per {
					b.Fatalf("total %d, %d items; want %d, %d", res.Total, len(res.Items), tc.total, per)
				}
			}
			b.ReportMetric((redisMicros(b, rdb)-before)/float64(b.N), "redis-cpu-µs/op")
			calls, usec := scriptMicros(b, rdb)
			b.ReportMetric((usec-usec0)/(calls-calls0), "script-µs/call")
		})
	}
}
