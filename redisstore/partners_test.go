package redisstore

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestPartnerCache(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	ms := func(d time.Duration) int64 { return now.Add(d).UnixMilli() }
	cases := []struct {
		name     string
		partner  string
		expireMS int64
		at       time.Duration // when get is asked, after now
		want     string
		cached   bool
	}{
		{name: "no partner is never cached", partner: "", expireMS: ms(time.Hour), at: 0, cached: false},
		{name: "no key", partner: "p1", expireMS: -2, at: 0, cached: false},
		{name: "far expiry: held for the maximum age", partner: "p1", expireMS: ms(time.Hour), at: partnerCacheMaxAge - time.Millisecond, want: "p1", cached: true},
		{name: "far expiry: gone after the maximum age", partner: "p1", expireMS: ms(time.Hour), at: partnerCacheMaxAge, cached: false},
		{name: "no expiry: held for the maximum age", partner: "p1", expireMS: -1, at: partnerCacheMaxAge / 2, want: "p1", cached: true},
		{name: "near expiry: held until the margin before it", partner: "p1", expireMS: ms(10 * time.Second), at: 10*time.Second - partnerCacheMargin - time.Millisecond, want: "p1", cached: true},
		{name: "near expiry: gone at the margin before it", partner: "p1", expireMS: ms(10 * time.Second), at: 10*time.Second - partnerCacheMargin, cached: false},
		{name: "expiring within the margin: not cached", partner: "p1", expireMS: ms(partnerCacheMargin / 2), at: 0, cached: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c partnerCache
			c.put("t1", tc.partner, tc.expireMS, now)
			got, ok := c.get("t1", now.Add(tc.at))
			if ok != tc.cached || got != tc.want {
				t.Errorf("get = %q, %v; want %q, %v", got, ok, tc.want, tc.cached)
			}
			if _, ok := c.get("t2", now); ok {
				t.Error("another tenant is cached")
			}
		})
	}
}

func TestPartnerCacheIsBounded(t *testing.T) {
	var c partnerCache
	now := time.Now()
	for i := 0; i < partnerCacheEntries+10; i++ {
		c.put("t"+itoa(int64(i)), "p", -1, now)
	}
	if n := len(c.entries); n > partnerCacheEntries {
		t.Fatalf("%d entries, bound %d", n, partnerCacheEntries)
	}
	if got, ok := c.get("t"+itoa(partnerCacheEntries+9), now); !ok || got != "p" {
		t.Errorf("latest entry: %q, %v", got, ok)
	}
}

func TestExpireMS(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want int64
	}{{-1, -1}, {-2, -2}, {1_700_000_000_123 * time.Millisecond, 1_700_000_000_123}} {
		if got := expireMS(tc.in); got != tc.want {
			t.Errorf("expireMS(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// countCmds is a go-redis hook counting the commands sent, pipelined or not.
type countCmds struct{ n atomic.Int64 }

func (h *countCmds) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countCmds) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countCmds) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// TestGetInTenantCachesThePartner: once a tenant's partner is known, a get in
// the tenant (the verify hot path) sends one command; a partner-less tenant
// is read every time, so an adoption shows at once; and a tenant whose
// partner key expired with its sessions can be taken by another partner,
// whose sessions then show that partner, not the cached one.
func TestGetInTenantCachesThePartner(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		hook := &countCmds{}
		rdb.AddHook(hook)
		st := New(rdb, Options{})
		get := func(tenant, id string) (partner string, cmds int64) {
			t.Helper()
			before := hook.n.Load()
			s, err := st.GetInTenant(ctx, tenant, id)
			if err != nil {
				t.Fatalf("get %s/%s: %v", tenant, id, err)
			}
			return s.PartnerID, hook.n.Load() - before
		}

		s1 := newSession("t1", "p1", "u1", time.Hour)
		mustCreate(t, st, s1)
		if p, n := get("t1", s1.ID); p != "p1" || n != 3 {
			t.Errorf("first get: partner %q, %d commands; want p1, 3", p, n)
		}
		if p, n := get("t1", s1.ID); p != "p1" || n != 1 {
			t.Errorf("second get: partner %q, %d commands; want p1, 1", p, n)
		}

		lone := newSession("t2", "", "u1", time.Hour)
		mustCreate(t, st, lone)
		for i := 0; i < 2; i++ {
			if p, n := get("t2", lone.ID); p != "" || n != 3 {
				t.Errorf("partner-less get %d: partner %q, %d commands; want \"\", 3", i, p, n)
			}
		}
		mustCreate(t, st, newSession("t2", "p2", "u2", time.Hour))
		if p, _ := get("t2", lone.ID); p != "p2" {
			t.Errorf("after adoption: partner %q, want p2", p)
		}

		short := newSession("t3", "p1", "u1", 1500*time.Millisecond)
		mustCreate(t, st, short)
		if p, _ := get("t3", short.ID); p != "p1" {
			t.Fatalf("short-lived tenant: partner %q, want p1", p)
		}
		time.Sleep(time.Until(short.ExpiresAt) + 200*time.Millisecond)
		next := newSession("t3", "p9", "u1", time.Hour)
		mustCreate(t, st, next) // tp:{t3} expired with its last session
		if p, _ := get("t3", next.ID); p != "p9" {
			t.Errorf("tenant taken by another partner: partner %q, want p9", p)
		}
	})
}
