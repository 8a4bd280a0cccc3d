package redisstore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestSweepPrunesUserIndexes: once every session of a user has expired, the
// sweep deletes the user's index and drops the user from ix users; users
// with a live session keep it (the data model: expired members are pruned by score
// by the sweep).
func TestSweepPrunesUserIndexes(t *testing.T) {
	type user struct {
		id   string
		ttls []time.Duration // sessions, from the clock at create
	}
	cases := []struct {
		name  string
		users []user
		// gone are the users whose index the sweep removes, two hours on.
		gone []string
	}{
		{"one user, all expired", []user{{"u1", []time.Duration{time.Hour, 90 * time.Minute}}}, []string{"u1"}},
		{"expired and live users", []user{
			{"u1", []time.Duration{time.Hour}},
			{"u2", []time.Duration{3 * time.Hour}},
			{"u3", []time.Duration{time.Hour, 3 * time.Hour}},
		}, []string{"u1"}},
		{"more expired users than a batch", func() []user {
			var us []user
			for i := range 25 {
				us = append(us, user{"x" + itoa(int64(i)), []time.Duration{time.Hour}})
			}
			return us
		}(), func() []string {
			var ids []string
			for i := range 25 {
				ids = append(ids, "x"+itoa(int64(i)))
			}
			return ids
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
				ctx := context.Background()
				clock := time.Now()
				st := New(rdb, Options{RevokeBatch: 10, Now: func() time.Time { return clock }})
				k := tenantKeys("tp")
				// A live session keeps the tenant on the sweep's list (a
				// tenant whose every session expired is left to its keys'
				// own expiry).
				mustCreate(t, st, newSession("tp", "p", "keeper", 3*time.Hour))
				for _, u := range tc.users {
					for _, ttl := range u.ttls {
						mustCreate(t, st, newSession("tp", "p", u.id, ttl))
					}
				}
				clock = clock.Add(2 * time.Hour)
				if _, err := st.Sweep(ctx); err != nil {
					t.Fatal(err)
				}
				for _, u := range tc.users {
					n, err := rdb.Exists(ctx, k.user(u.id)).Result()
					if err != nil {
						t.Fatal(err)
					}
					_, err = rdb.ZScore(ctx, k.users(), u.id).Result()
					inUsers := err == nil
					if err != nil && !errors.Is(err, redis.Nil) {
						t.Fatal(err)
					}
					if gone := slices.Contains(tc.gone, u.id); gone && (n != 0 || inUsers) {
						t.Errorf("user %s: index exists %v, in ix users %v after the sweep; want neither", u.id, n == 1, inUsers)
					} else if !gone && (n != 1 || !inUsers) {
						t.Errorf("user %s with a live session: index exists %v, in ix users %v; want both", u.id, n == 1, inUsers)
					}
				}
			})
		})
	}
}

// TestPruneUsersKeepsReturningUser: a user listed as expired in ix users who
// logged in again before the script ran keeps the new session and gets its
// expiry in ix users (the script checks in the tenant slot).
func TestPruneUsersKeepsReturningUser(t *testing.T) {
	rdb := srv.NewClient(t)
	ctx := context.Background()
	clock := time.Now()
	st := New(rdb, Options{Now: func() time.Time { return clock }})
	k := tenantKeys("tr")
	old := newSession("tr", "", "u", time.Hour)
	mustCreate(t, st, old)
	clock = clock.Add(2 * time.Hour)
	fresh := newSession("tr", "", "u", 3*time.Hour)
	fresh.ExpiresAt = clock.Add(time.Hour)
	mustCreate(t, st, fresh)
	// The sweep read "u" as expired before the login: replay its script.
	call := pruneUsersCall{users: k.users(), userIdx: []string{k.user("u")}, nowMS: ms(clock), userIDs: []string{"u"}}
	if err := run(ctx, rdb, call).Err(); err != nil {
		t.Fatal(err)
	}
	members, err := rdb.ZRange(ctx, k.user("u"), 0, -1).Result()
	if err != nil || !slices.Equal(members, []string{fresh.ID}) {
		t.Errorf("user index %v, %v; want [%s]", members, err, fresh.ID)
	}
	if sc, err := rdb.ZScore(ctx, k.users(), "u").Result(); err != nil || int64(sc) != ms(fresh.ExpiresAt) {
		t.Errorf("ix users score %d, %v; want %d", int64(sc), err, ms(fresh.ExpiresAt))
	}
}
