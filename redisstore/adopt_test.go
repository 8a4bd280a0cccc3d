package redisstore

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// failZScan is a go-redis hook that fails every ZSCAN while on is set: a
// create that dies right after its tenant step, before the adoption.
type failZScan struct{ on atomic.Bool }

func (h *failZScan) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *failZScan) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.on.Load() && strings.EqualFold(cmd.Name(), "zscan") {
			cmd.SetErr(errors.New("simulated crash"))
			return cmd.Err()
		}
		return next(ctx, cmd)
	}
}

func (h *failZScan) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestAdoptPartnerlessSessions: a tenant's sessions written without a
// partner become the partner's when a later create names one (the reach rules, docs/auth.md): in
// its view, with the partner in Get and List, counted and revoked with it.
// After a crash before the adoption, the sweep finishes it.
func TestAdoptPartnerlessSessions(t *testing.T) {
	cases := []struct {
		name    string
		earlier int // partner-less sessions before the create that names the partner
		batch   int
		crash   bool
	}{
		{name: "few sessions", earlier: 3, batch: 1000},
		{name: "many sessions in batches", earlier: 300, batch: 40},
		{name: "crash before the adoption, the sweep finishes it", earlier: 3, batch: 1000, crash: true},
		{name: "crash, many sessions", earlier: 300, batch: 40, crash: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
				ctx := context.Background()
				hook := &failZScan{}
				rdb.AddHook(hook)
				st := New(rdb, Options{RevokeBatch: tc.batch})
				var early []*session.Session
				for i := range tc.earlier {
					// The earlier sessions outlive the one that names the partner.
					s := newSession("ta", "", "u"+itoa(int64(i%5)), 2*time.Hour+time.Duration(i)*time.Second)
					mustCreate(t, st, s)
					early = append(early, s)
				}
				other := newSession("tb", "", "u0", time.Hour) // a tenant that never gets a partner
				mustCreate(t, st, other)

				named := newSession("ta", "pa", "u0", time.Hour)
				hook.on.Store(tc.crash)
				err := st.Create(ctx, named)
				hook.on.Store(false)
				k := tenantKeys("ta")
				if tc.crash {
					if err == nil {
						t.Fatal("create with a failing adoption: got nil error")
					}
					if p, _ := rdb.Get(ctx, k.adoption()).Result(); p != "pa" {
						t.Fatalf("adoption marker %q after the crash, want pa", p)
					}
					// The session's partner is the tenant's at once, everywhere
					// but in the partner's view.
					if got, err := st.Get(ctx, early[0].ID); err != nil || got.PartnerID != "pa" {
						t.Errorf("get before the sweep: partner %q, %v; want pa", got.PartnerID, err)
					}
					res, err := st.Sweep(ctx)
					if err != nil || res.Tenants != 2 {
						t.Fatalf("sweep: %+v, %v", res, err)
					}
				} else if err != nil {
					t.Fatalf("create naming the partner: %v", err)
				}
				if n, _ := rdb.Exists(ctx, k.adoption()).Result(); n != 0 {
					t.Error("adoption marker left after the adoption")
				}

				// The partner's view is the tenant index.
				want, err := rdb.ZRangeWithScores(ctx, k.all(), 0, -1).Result()
				if err != nil {
					t.Fatal(err)
				}
				got := viewOf(t, st, rdb, "pa")
				if len(got) != tc.earlier+1 || len(want) != len(got) {
					t.Fatalf("partner view has %d members, tenant index %d; want %d", len(got), len(want), tc.earlier+1)
				}
				for i := range want {
					if m, _ := want[i].Member.(string); got[i].Member != viewMember("ta", m) || got[i].Score != want[i].Score {
						t.Fatalf("partner view member %d: %v, want %v of the tenant index", i, got[i], want[i])
					}
				}
				// The partner and its view live as long as the last adopted
				// session, an hour after the one that named the partner (the
				// embedded store's PEXPIRETIME may be a millisecond early).
				last := ms(early[len(early)-1].ExpiresAt)
				for _, key := range []string{k.partner(), st.views.key("pa", early[len(early)-1].ID), partnerTenantsKey("pa")} {
					if at, _ := rdb.Do(ctx, "PEXPIRETIME", key).Int64(); at < last-1000 {
						t.Errorf("%s expires at %d, before the last adopted session (%d)", key, at, last)
					}
				}
				if ok, _ := rdb.SIsMember(ctx, partnerTenantsKey("pa"), "ta").Result(); !ok {
					t.Error("tenant ta missing from the partner's tenants")
				}

				if s, err := st.Get(ctx, early[0].ID); err != nil || s.PartnerID != "pa" {
					t.Errorf("get: partner %q, %v; want pa", s.PartnerID, err)
				}
				if s, err := st.Get(ctx, other.ID); err != nil || s.PartnerID != "" {
					t.Errorf("get of a tenant without partner: partner %q, %v; want none", s.PartnerID, err)
				}
				for _, f := range []session.Filter{{PartnerID: "pa"}, {TenantID: "ta"}, {TenantID: "ta", PartnerID: "pa"}, {UserID: "u0", PartnerID: "pa"}} {
					res := mustList(t, st, f, 1, 100)
					wantTotal := int64(tc.earlier + 1)
					if f.UserID != "" {
						wantTotal = int64((tc.earlier+4)/5 + 1)
					}
					if res.Total != wantTotal {
						t.Errorf("list %+v: total %d, want %d", f, res.Total, wantTotal)
					}
					for _, s := range res.Items {
						if s.PartnerID != "pa" {
							t.Errorf("list %+v: %s has partner %q, want pa", f, s.ID, s.PartnerID)
						}
					}
				}
				if stats, err := st.Stats(ctx, "ta"); err != nil || stats.ActiveSessions != int64(tc.earlier+1) {
					t.Errorf("stats: %d sessions, %v; want %d", stats.ActiveSessions, err, tc.earlier+1)
				}
				revoked, err := st.Revoke(ctx, session.Revocation{Filter: session.Filter{PartnerID: "pa"}})
				if err != nil || len(revoked) != tc.earlier+1 {
					t.Errorf("revoke by partner: %d, %v; want %d", len(revoked), err, tc.earlier+1)
				}
				if _, err := st.Get(ctx, other.ID); err != nil {
					t.Errorf("revoke by partner took the session of a tenant without partner: %v", err)
				}
			})
		})
	}
}

// TestAdoptBatchCorrects: a batch is read back from the tenant index after
// it is written: a touch that moved an expiry before the member reached the
// view, or a revocation in between, does not leave a wrong view member.
func TestAdoptBatchCorrects(t *testing.T) {
	cases := []struct {
		name string
		// change happens between the index read and the view write.
		change func(t *testing.T, st *Store, s *session.Session)
		// want is the session's score in the partner view after; 0 = absent.
		want func(s *session.Session) int64
	}{
		{"unchanged", func(*testing.T, *Store, *session.Session) {}, func(s *session.Session) int64 { return ms(s.ExpiresAt) }},
		{"expiry moved", func(t *testing.T, st *Store, s *session.Session) {
			s.ExpiresAt = s.ExpiresAt.Add(time.Hour)
			if err := st.rdb.ZAdd(context.Background(), tenantKeys(s.TenantID).all(), redis.Z{Score: float64(ms(s.ExpiresAt)), Member: s.ID}).Err(); err != nil {
				t.Fatal(err)
			}
		}, func(s *session.Session) int64 { return ms(s.ExpiresAt) }},
		{"revoked", func(t *testing.T, st *Store, s *session.Session) {
			if _, err := st.Revoke(context.Background(), session.Revocation{Filter: session.Filter{TenantID: s.TenantID}, IDs: []string{s.ID}}); err != nil {
				t.Fatal(err)
			}
		}, func(*session.Session) int64 { return 0 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rdb := srv.NewClient(t)
			ctx := context.Background()
			st := New(rdb, Options{})
			s := newSession("tc", "", "u", time.Hour)
			mustCreate(t, st, s)
			read := []string{s.ID, itoa(ms(s.ExpiresAt))}
			tc.change(t, st, s)
			if _, err := st.adoptBatch(ctx, "tc", "pc", read, ms(s.ExpiresAt)); err != nil {
				t.Fatal(err)
			}
			if got := viewScore(t, st, rdb, "pc", "tc", s.ID); got != tc.want(s) {
				t.Errorf("view score %d; want %d", got, tc.want(s))
			}
		})
	}
}

// TestAdoptOnlyWhenPartnerless: the first create naming a partner sets the
// marker only when the tenant has live sessions; a tenant whose partner is
// known from its first session never needs an adoption.
func TestAdoptOnlyWhenPartnerless(t *testing.T) {
	cases := []struct {
		name    string
		first   string // partner of the tenant's first session
		wantRun bool
	}{
		{"first session names the partner", "pd", false},
		{"first session without partner", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rdb := srv.NewClient(t)
			ctx := context.Background()
			hook := &failZScan{}
			rdb.AddHook(hook)
			st := New(rdb, Options{})
			mustCreate(t, st, newSession("td", tc.first, "u", time.Hour))
			hook.on.Store(true) // any adoption fails: we only look at whether one ran
			err := st.Create(ctx, newSession("td", "pd", "u", time.Hour))
			if ran := err != nil; ran != tc.wantRun {
				t.Errorf("adoption ran: %v (%v), want %v", ran, err, tc.wantRun)
			}
		})
	}
}
