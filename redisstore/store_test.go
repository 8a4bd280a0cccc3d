package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

func TestCreateGetRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{})
		s := newSession("t1", "p1", "u1", time.Hour)
		s.UserEmail, s.UserDisplayName, s.Location = "a@example.com", "Ann", "Berlin, DE"
		mustCreate(t, st, s)
		for _, get := range []struct {
			name string
			f    func() (session.Session, error)
		}{
			{"by id", func() (session.Session, error) { return st.Get(ctx, s.ID) }},
			{"in tenant", func() (session.Session, error) { return st.GetInTenant(ctx, "t1", s.ID) }},
		} {
			got, err := get.f()
			if err != nil {
				t.Fatalf("%s: %v", get.name, err)
			}
			want := *s
			want.AbsoluteExpiresAt = s.ExpiresAt
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s: session differs (-want +got):\n%s", get.name, d)
			}
		}
		if _, err := st.GetInTenant(ctx, "other", s.ID); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("other tenant: got %v, want ErrNotFound", err)
		}
		if _, err := st.Get(ctx, "missing"); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("missing: got %v, want ErrNotFound", err)
		}
	})
}

func TestCreateConflictsAndPartners(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{})
		s := newSession("t1", "p1", "u1", time.Hour)
		mustCreate(t, st, s)
		dup := newSession("t2", "p2", "u2", time.Hour)
		dup.ID = s.ID
		before, _ := rdb.DBSize(ctx).Result()
		if err := st.Create(ctx, dup); !errors.Is(err, session.ErrConflict) {
			t.Fatalf("duplicate id: got %v, want ErrConflict", err)
		}
		if after, _ := rdb.DBSize(ctx).Result(); after != before {
			t.Errorf("a refused create changed the key count from %d to %d", before, after)
		}
		wrong := newSession("t1", "p9", "u1", time.Hour)
		if err := st.Create(ctx, wrong); !errors.Is(err, session.ErrPartnerMismatch) {
			t.Fatalf("other partner: got %v, want ErrPartnerMismatch", err)
		}
		// The refused session left no claim on its id.
		if n, _ := rdb.Exists(ctx, pointerKey(wrong.ID)).Result(); n != 0 {
			t.Errorf("refused create left its id pointer")
		}
		inherit := newSession("t1", "", "u3", time.Hour)
		mustCreate(t, st, inherit)
		if inherit.PartnerID != "p1" {
			t.Errorf("inherited partner: got %q, want p1", inherit.PartnerID)
		}
		if p, _ := st.TenantPartner(ctx, "t1"); p != "p1" {
			t.Errorf("tenant partner: got %q, want p1", p)
		}
		if p, _ := st.TenantPartner(ctx, "nobody"); p != "" {
			t.Errorf("unknown tenant partner: got %q, want empty", p)
		}
	})
}

// TestExpiryIsAbsolute: the hash expires at expires_at exactly (PEXPIREAT),
// indexes are scored by it, and index keys expire no earlier.
func TestExpiryIsAbsolute(t *testing.T) {
	rdb := srv.NewClient(t)
	ctx := context.Background()
	st := New(rdb, Options{})
	s := newSession("t1", "p1", "u1", 90*time.Minute)
	mustCreate(t, st, s)
	k := tenantKeys("t1")
	want := s.ExpiresAt.UnixMilli()
	for _, key := range []string{k.session(s.ID), pointerKey(s.ID)} {
		if got, _ := rdb.Do(ctx, "PEXPIRETIME", key).Int64(); got != want {
			t.Errorf("%s expires at %d, want exactly %d", key, got, want)
		}
	}
	for _, key := range []string{k.all(), k.user("u1"), k.device("desktop"), k.users(), k.partner(),
		st.views.key("p1", s.ID), st.views.key("", s.ID), userTenantsKey("u1"), partnerTenantsKey("p1"), st.views.tenantKey("t1")} {
		got, _ := rdb.Do(ctx, "PEXPIRETIME", key).Int64()
		if got < want {
			t.Errorf("index key %s expires at %d, want >= %d (it must expire by itself)", key, got, want)
		}
	}
	if n := checkIndexed(t, rdb, 0); n != 1 {
		t.Fatalf("got %d live sessions, want 1", n)
	}
	// A second, later session of the user raises the key expiries (GT), an
	// earlier one never lowers them.
	later := newSession("t1", "p1", "u1", 3*time.Hour)
	mustCreate(t, st, later)
	mustCreate(t, st, newSession("t1", "p1", "u1", time.Minute))
	if got, _ := rdb.Do(ctx, "PEXPIRETIME", k.user("u1")).Int64(); got != later.ExpiresAt.UnixMilli() {
		t.Errorf("user index expires at %d, want %d", got, later.ExpiresAt.UnixMilli())
	}
}

func TestSessionsExpire(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{})
		short := newSession("t1", "p1", "u1", 400*time.Millisecond)
		mustCreate(t, st, short)
		long := newSession("t1", "p1", "u1", time.Hour)
		mustCreate(t, st, long)
		time.Sleep(900 * time.Millisecond)
		if _, err := st.Get(ctx, short.ID); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("expired session: got %v, want ErrNotFound", err)
		}
		for _, f := range []session.Filter{{TenantID: "t1"}, {UserID: "u1"}, {PartnerID: "p1"}, {}} {
			res := mustList(t, st, f, 1, 10)
			if d := cmp.Diff([]string{long.ID}, ids(res.Items)); d != "" || res.Total != 1 {
				t.Errorf("%+v: total %d, items diff %s", f, res.Total, d)
			}
		}
		stats, err := st.Stats(ctx, "t1")
		if err != nil {
			t.Fatal(err)
		}
		if stats.ActiveSessions != 1 || stats.ActiveUsers != 1 {
			t.Errorf("stats: got %d sessions %d users, want 1 and 1", stats.ActiveSessions, stats.ActiveUsers)
		}
	})
}

func TestTouch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{})
		s := newSession("t1", "p1", "u1", time.Hour)
		mustCreate(t, st, s)
		at := time.Now().UTC().Truncate(time.Millisecond)
		if err := st.Touch(ctx, "t1", s.ID, session.Activity{At: at, AppID: "crm", AppName: "CRM", IPAddress: "198.51.100.1"}); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.LastActivityAt.Equal(at) || got.IPAddress != "198.51.100.1" {
			t.Errorf("got last activity %v ip %s, want %v 198.51.100.1", got.LastActivityAt, got.IPAddress, at)
		}
		if d := cmp.Diff([]session.SSOApp{{ID: "crm", Name: "CRM", AccessedAt: at}}, got.Apps); d != "" {
			t.Errorf("apps (-want +got):\n%s", d)
		}
		if !got.ExpiresAt.Equal(s.ExpiresAt) {
			t.Errorf("touch without idle timeout moved expiry to %v", got.ExpiresAt)
		}
		if err := st.Touch(ctx, "t1", "gone", session.Activity{}); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("touch missing: got %v, want ErrNotFound", err)
		}
		// Apps are bounded: the least recently accessed one is forgotten.
		for i := 0; i < session.MaxApps+5; i++ {
			a := session.Activity{At: at.Add(time.Duration(i+1) * time.Second), AppID: "app" + itoa(int64(i)), AppName: "n"}
			if err := st.Touch(ctx, "t1", s.ID, a); err != nil {
				t.Fatal(err)
			}
		}
		got, _ = st.Get(ctx, s.ID)
		if len(got.Apps) != session.MaxApps {
			t.Errorf("got %d apps, want %d", len(got.Apps), session.MaxApps)
		}
		if got.Apps[0].ID != "app"+itoa(int64(session.MaxApps+4)) {
			t.Errorf("latest app first: got %s", got.Apps[0].ID)
		}
	})
}

func TestIdleTimeoutMovesExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := New(rdb, Options{})
		now := time.Now().UTC().Truncate(time.Millisecond)
		s := newSession("t1", "", "u1", 0)
		s.IdleTimeout = 10 * time.Minute
		s.AbsoluteExpiresAt = now.Add(30 * time.Minute)
		s.ExpiresAt = now.Add(10 * time.Minute)
		mustCreate(t, st, s)
		cases := []struct {
			name string
			at   time.Time
			want time.Time
		}{
			{"extends by the idle timeout", now.Add(5 * time.Minute), now.Add(15 * time.Minute)},
			{"capped by the absolute expiry", now.Add(25 * time.Minute), now.Add(30 * time.Minute)},
		}
		for _, tc := range cases {
			if err := st.Touch(ctx, "t1", s.ID, session.Activity{At: tc.at}); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			got, err := st.GetInTenant(ctx, "t1", s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.ExpiresAt.Equal(tc.want) {
				t.Errorf("%s: expires %v, want %v", tc.name, got.ExpiresAt, tc.want)
			}
			checkIndexed(t, rdb, 250)
			if sc := viewScore(t, st, rdb, "", "t1", s.ID); sc != ms(tc.want) {
				t.Errorf("%s: global view score %d, want %d", tc.name, sc, ms(tc.want))
			}
		}
	})
}
