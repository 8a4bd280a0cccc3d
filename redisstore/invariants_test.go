package redisstore

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// checkIndexed proves the §7 invariants for every live session hash in rdb:
// each is in every tenant index it belongs to with a score equal to its
// expiry, its user's entry in ix users is at least that expiry, the hash
// itself expires exactly at expires_at, and every index key carries an expiry
// no earlier than it. It returns the number of live sessions checked.
func checkIndexed(tb testing.TB, rdb redis.UniversalClient, tolMS int64) int {
	tb.Helper()
	ctx := context.Background()
	keys := scanKeys(tb, rdb, "s:{*}:*")
	live := 0
	for _, key := range keys {
		rest := strings.TrimPrefix(key, "s:{")
		tenant, sid, _ := strings.Cut(rest, "}:")
		h, err := rdb.HGetAll(ctx, key).Result()
		if err != nil || len(h) == 0 {
			continue // expired between SCAN and HGETALL
		}
		live++
		exp := atoi(h[fExpires])
		k := tenantKeys(tenant)
		pexp, _ := rdb.Do(ctx, "PEXPIRETIME", key).Int64()
		if d := pexp - exp; d > tolMS || d < -tolMS {
			tb.Errorf("%s: hash expires at %d, want expires_at %d", key, pexp, exp)
		}
		for _, ix := range []string{k.all(), k.user(h[fUser]), k.device(h[fDevice])} {
			sc, err := rdb.ZScore(ctx, ix, sid).Result()
			if err != nil {
				tb.Errorf("live session %s missing from %s: %v", key, ix, err)
				continue
			}
			if int64(sc) != exp {
				tb.Errorf("%s in %s: score %d, want %d", key, ix, int64(sc), exp)
			}
			kexp, _ := rdb.Do(ctx, "PEXPIRETIME", ix).Int64()
			if kexp < exp-tolMS {
				tb.Errorf("index %s expires at %d, before its member %s (%d)", ix, kexp, sid, exp)
			}
		}
		usc, err := rdb.ZScore(ctx, k.users(), h[fUser]).Result()
		if err != nil || int64(usc) < exp {
			tb.Errorf("%s: user %s in %s has score %v (%v), want >= %d", key, h[fUser], k.users(), usc, err, exp)
		}
		if t, err := rdb.Get(ctx, pointerKey(sid)).Result(); err != nil || t != tenant {
			tb.Errorf("%s: pointer = %q, %v; want %q", key, t, err, tenant)
		}
	}
	return live
}

// TestLoginRacingRevokeAll races logins against a tenant revoke-all many
// times: every login must end either revoked or fully indexed, never alive
// and missing from an index (it would survive the next revoke-all).
func TestLoginRacingRevokeAll(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{RevokeBatch: 7})
		rounds := 40
		if testing.Short() {
			rounds = 10
		}
		for round := 0; round < rounds; round++ {
			for i := 0; i < 15; i++ { // a backlog for the revoke to chew through
				mustCreate(t, st, newSession("race", "p", "u"+string(rune('a'+i%5)), time.Hour))
			}
			var wg sync.WaitGroup
			created := make(chan string, 64)
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; i < 8; i++ {
						s := newSession("race", "p", "u"+string(rune('a'+(w+i)%5)), time.Hour)
						if err := st.Create(ctx, s); err != nil {
							t.Errorf("create: %v", err)
							return
						}
						created <- s.ID
					}
				}(w)
			}
			revoked := map[string]bool{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				rs, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "race"}})
				if err != nil {
					t.Errorf("revoke all: %v", err)
				}
				for id := range revokedIDs(rs) {
					revoked[id] = true
				}
			}()
			wg.Wait()
			close(created)
			for id := range created {
				_, err := st.GetInTenant(ctx, "race", id)
				alive := err == nil
				if alive == revoked[id] {
					t.Fatalf("round %d: session %s alive=%v but revoked=%v", round, id, alive, revoked[id])
				}
			}
			checkIndexed(t, rdb, 250)
			// What survived must be caught by the next revoke-all.
			if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "race"}}); err != nil {
				t.Fatal(err)
			}
			if n := checkIndexed(t, rdb, 250); n != 0 {
				t.Fatalf("round %d: %d live sessions survived a quiet revoke-all", round, n)
			}
			if res := mustList(t, st, session.Filter{TenantID: "race"}, 1, 10); res.Total != 0 {
				t.Fatalf("round %d: tenant still lists %d sessions", round, res.Total)
			}
		}
	})
}

// TestConcurrentTouchAndRevoke interleaves activity (moving idle expiries)
// with per-user revocations; the invariants hold afterwards.
func TestConcurrentTouchAndRevoke(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{RevokeBatch: 3})
		var sessions []*session.Session
		for i := 0; i < 30; i++ {
			s := newSession("idle", "", "u"+string(rune('a'+i%3)), 10*time.Minute)
			s.AbsoluteExpiresAt = s.ExpiresAt.Add(time.Hour)
			s.IdleTimeout = 10 * time.Minute
			mustCreate(t, st, s)
			sessions = append(sessions, s)
		}
		var wg sync.WaitGroup
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i, s := range sessions {
					if i%3 == w {
						at := time.Now().Add(time.Duration(i) * time.Second)
						if err := st.Touch(ctx, "idle", s.ID, session.Activity{At: at}); err != nil && err != session.ErrNotFound {
							t.Errorf("touch: %v", err)
						}
					}
				}
			}(w)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "idle", UserID: "ub"}}); err != nil {
				t.Errorf("revoke user: %v", err)
			}
		}()
		wg.Wait()
		if n := checkIndexed(t, rdb, 250); n != 20 {
			t.Fatalf("got %d live sessions, want 20", n)
		}
	})
}
