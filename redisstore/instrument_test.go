package redisstore

import (
	"context"
	"sync"
	"testing"
	"time"
)

type recorder struct {
	mu    sync.Mutex
	calls map[string]int
	fails map[string]int
}

func (r *recorder) ObserveRedis(cmd string, _ time.Duration, failed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[cmd]++
	if failed {
		r.fails[cmd]++
	}
}

func TestInstrumentReportsCommands(t *testing.T) {
	rdb := srv.NewClient(t)
	rec := &recorder{calls: map[string]int{}, fails: map[string]int{}}
	Instrument(rdb, rec)
	ctx := context.Background()
	st := New(rdb, Options{})
	mustCreate(t, st, newSession("t1", "p1", "u1", time.Hour))
	_ = rdb.Get(ctx, "missing").Err()     // redis.Nil: no failure
	_ = rdb.Set(ctx, "str", "x", 0).Err() // then a wrong-type command: a failure
	_ = rdb.HGetAll(ctx, "str").Err()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, cmd := range []string{"pipeline", "evalsha", "get", "set", "hgetall"} {
		if rec.calls[cmd] == 0 {
			t.Errorf("no observation of %s (got %v)", cmd, rec.calls)
		}
	}
	if rec.fails["get"] != 0 {
		t.Errorf("redis.Nil counted as a failure")
	}
	if rec.fails["hgetall"] != 1 {
		t.Errorf("hgetall failures: got %d, want 1", rec.fails["hgetall"])
	}
	if _, _, _, total, _ := PoolStats(rdb); total == 0 {
		t.Errorf("pool stats report no connection")
	}
}
