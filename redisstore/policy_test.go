package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// eventsOf returns every revocation event in the stream, by session id.
func eventsOf(t *testing.T, st *Store) map[string][]session.Event {
	t.Helper()
	out := map[string][]session.Event{}
	after := "0"
	for {
		evs, err := st.EventsAfter(context.Background(), after, 1000, 0)
		if err != nil {
			t.Fatalf("events: %v", err)
		}
		if len(evs) == 0 {
			return out
		}
		for _, e := range evs {
			out[e.SessionID] = append(out[e.SessionID], e)
		}
		after = evs[len(evs)-1].ID
	}
}

func TestPolicyLimitEvictsOldest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := historyStore(rdb, Options{})
		if err := st.SetPolicy(ctx, "tp", session.Policy{MaxSessionsPerUser: 2, OnLimit: session.OnLimitEvictOldest}); err != nil {
			t.Fatal(err)
		}
		var made []*session.Session
		base := time.Now().UTC().Truncate(time.Millisecond)
		for i := 0; i < 4; i++ {
			s := newSession("tp", "p1", "u1", time.Hour)
			// Created in this order, expiring in the other: eviction goes by creation.
			s.CreatedAt = base.Add(time.Duration(i) * time.Second)
			s.ExpiresAt = base.Add(time.Duration(10-i) * time.Hour)
			mustCreate(t, st, s)
			made = append(made, s)
			if live := mustList(t, st, session.Filter{TenantID: "tp", UserID: "u1"}, 1, 10); live.Total > 2 {
				t.Fatalf("after create %d: %d live, want at most 2", i, live.Total)
			}
		}
		other := newSession("tp", "p1", "u2", time.Hour)
		mustCreate(t, st, other)
		if len(made[0].Evicted) != 0 || len(made[1].Evicted) != 0 {
			t.Errorf("creates within the limit evicted %v, %v", made[0].Evicted, made[1].Evicted)
		}
		for i, want := range []string{made[0].ID, made[1].ID} {
			got := made[2+i].Evicted
			if len(got) != 1 || got[0].ID != want || got[0].UserID != "u1" || got[0].PartnerID != "p1" {
				t.Errorf("create %d evicted %+v, want [%s]", 2+i, got, want)
			}
		}
		live := mustList(t, st, session.Filter{TenantID: "tp", UserID: "u1"}, 1, 10)
		if got := ids(live.Items); len(got) != 2 || got[0] != made[2].ID || got[1] != made[3].ID {
			t.Errorf("left: %v, want the two newest %s, %s", got, made[2].ID, made[3].ID)
		}
		evs := eventsOf(t, st)
		for _, s := range made[:2] {
			if _, err := st.GetInTenant(ctx, "tp", s.ID); !errors.Is(err, session.ErrNotFound) {
				t.Errorf("evicted %s still live: %v", s.ID, err)
			}
			if e := evs[s.ID]; len(e) != 1 || e[0].Reason != session.ReasonSessionLimit {
				t.Errorf("events of evicted %s: %+v, want one session_limit", s.ID, e)
			}
			if e, err := st.GetEnded(ctx, "tp", s.ID); err != nil || e.End.Reason != session.ReasonSessionLimit {
				t.Errorf("history of evicted %s: %+v, %v", s.ID, e.End, err)
			}
		}
		if stats, err := st.Stats(ctx, "tp"); err != nil || stats.ActiveSessions != 3 || stats.RevokedLast24h != 2 {
			t.Errorf("stats: %+v, %v; want 3 active, 2 revoked", stats, err)
		}
		if res := mustList(t, st, session.Filter{PartnerID: "p1"}, 1, 10); res.Total != 3 {
			t.Errorf("partner view after the relay: %d, want 3", res.Total)
		}
		audit, err := st.Audit(ctx, "tp", session.Page{Number: 1, PerPage: 10})
		if err != nil || audit.Total != 2 || audit.Items[0].Reason != session.ReasonSessionLimit || audit.Items[0].ActorRole != "policy" {
			t.Errorf("audit: %+v, %v", audit, err)
		}
	})
}

func TestPolicyLimitRefuses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{DefaultPolicy: session.Policy{MaxSessionsPerUser: 2, OnLimit: session.OnLimitRefuse}})
		a, b := newSession("tr", "", "u1", time.Hour), newSession("tr", "", "u1", time.Hour)
		mustCreate(t, st, a)
		mustCreate(t, st, b)
		refused := newSession("tr", "", "u1", time.Hour)
		if err := st.Create(ctx, refused); !errors.Is(err, session.ErrSessionLimit) {
			t.Fatalf("third create: %v, want ErrSessionLimit", err)
		}
		if got := mustList(t, st, session.Filter{TenantID: "tr"}, 1, 10); got.Total != 2 {
			t.Errorf("%d sessions after the refusal, want 2", got.Total)
		}
		// The refusal changed nothing: the id is free once a slot is.
		if _, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{TenantID: "tr"}, IDs: []string{a.ID}}); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, st, refused)
		// The tenant's own policy beats the default.
		if err := st.SetPolicy(ctx, "tr", session.Policy{MaxSessionsPerUser: 3}); err != nil {
			t.Fatal(err)
		}
		if p, err := st.Policy(ctx, "tr"); err != nil || p.MaxSessionsPerUser != 3 || p.OnLimit != session.OnLimitRefuse {
			t.Errorf("effective policy: %+v, %v; want 3, refuse (the default's)", p, err)
		}
		mustCreate(t, st, newSession("tr", "", "u1", time.Hour))
	})
}

// TestPolicyConcurrentCreates fires concurrent creates for one user against
// a limit of 3 while a reader samples the user's live sessions.
func TestPolicyConcurrentCreates(t *testing.T) {
	const creates, limit = 200, 3
	for _, onLimit := range []string{session.OnLimitEvictOldest, session.OnLimitRefuse} {
		t.Run(onLimit, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
				ctx := context.Background()
				st := New(rdb, Options{})
				tenant := "tcc-" + onLimit
				if err := st.SetPolicy(ctx, tenant, session.Policy{MaxSessionsPerUser: limit, OnLimit: onLimit}); err != nil {
					t.Fatal(err)
				}
				stop := make(chan struct{})
				var samples, over atomic.Int64
				var wg sync.WaitGroup
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						n, err := rdb.ZCount(ctx, tenantKeys(tenant).user("u1"), fmt.Sprintf("(%d", ms(time.Now())), "+inf").Result()
						if err == nil {
							samples.Add(1)
							if n > limit {
								over.Add(1)
							}
						}
					}
				})
				var mu sync.Mutex
				var created []*session.Session
				var refused atomic.Int64
				var cw sync.WaitGroup
				for w := 0; w < 20; w++ {
					cw.Go(func() {
						for i := 0; i < creates/20; i++ {
							s := newSession(tenant, "", "u1", time.Hour)
							err := st.Create(ctx, s)
							switch {
							case errors.Is(err, session.ErrSessionLimit):
								refused.Add(1)
							case err != nil:
								t.Errorf("create: %v", err)
							default:
								mu.Lock()
								created = append(created, s)
								mu.Unlock()
							}
						}
					})
				}
				cw.Wait()
				close(stop)
				wg.Wait()
				if over.Load() > 0 || samples.Load() == 0 {
					t.Errorf("%d of %d samples saw more than %d live", over.Load(), samples.Load(), limit)
				}
				live := mustList(t, st, session.Filter{TenantID: tenant, UserID: "u1"}, 1, 100)
				if live.Total != limit {
					t.Errorf("%d live at the end, want %d", live.Total, limit)
				}
				if onLimit == session.OnLimitRefuse {
					if len(created) != limit || refused.Load() != creates-limit {
						t.Errorf("%d created, %d refused; want %d and %d", len(created), refused.Load(), limit, creates-limit)
					}
					return
				}
				if len(created) != creates {
					t.Fatalf("%d created, want %d", len(created), creates)
				}
				alive := map[string]bool{}
				for _, s := range live.Items {
					alive[s.ID] = true
				}
				evs := eventsOf(t, st)
				evicted := 0
				for _, s := range created {
					evicted += len(s.Evicted)
					if alive[s.ID] {
						continue
					}
					if _, err := st.GetInTenant(ctx, tenant, s.ID); !errors.Is(err, session.ErrNotFound) {
						t.Errorf("evicted %s still live: %v", s.ID, err)
					}
					if n := len(evs[s.ID]); n != 1 {
						t.Errorf("evicted %s has %d events, want 1", s.ID, n)
					}
				}
				if evicted != creates-limit {
					t.Errorf("creates report %d evictions, want %d", evicted, creates-limit)
				}
			})
		})
	}
}

// TestRaceBackoff: the wait between a create's retries ends with its
// context, and otherwise lets the retry go on.
func TestRaceBackoff(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name    string
		ctx     context.Context
		attempt int
		want    error
	}{
		{"first retry", context.Background(), 0, nil},
		{"late retry", context.Background(), createRetries - 1, nil},
		{"cancelled", cancelled, createRetries - 1, context.Canceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := raceBackoff(c.ctx, c.attempt); !errors.Is(err, c.want) {
				t.Errorf("raceBackoff = %v, want %v", err, c.want)
			}
		})
	}
}
