package verifycache_test

import (
	"testing"
	"time"

	"github.com/sessiond/sessiond/pkg/session"
	"github.com/sessiond/sessiond/pkg/verifycache"
)

func TestCacheRules(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	entry := verifycache.Entry{SessionID: "s1", UserID: "u1", TenantID: "t1", ExpiresAt: now.Add(time.Hour), TokenExp: now.Add(10 * time.Minute)}
	k := verifycache.KeyOf("token-1")
	tests := []struct {
		name string
		// do prepares the cache after the entry was put at now.
		do   func(c *verifycache.Cache)
		at   time.Time
		want bool
	}{
		{"fresh", func(*verifycache.Cache) {}, now.Add(500 * time.Millisecond), true},
		{"at the max age", func(*verifycache.Cache) {}, now.Add(time.Second), false},
		{"past the session's expiry", func(c *verifycache.Cache) {
			e := entry
			e.ExpiresAt = now.Add(100 * time.Millisecond)
			c.Put(k, e, c.Gen(), now)
		}, now.Add(200 * time.Millisecond), false},
		{"past the token's exp", func(c *verifycache.Cache) {
			e := entry
			e.TokenExp = now.Add(100 * time.Millisecond)
			c.Put(k, e, c.Gen(), now)
		}, now.Add(200 * time.Millisecond), false},
		{"its session revoked", func(c *verifycache.Cache) { c.Invalidate("s1") }, now, false},
		{"another session revoked", func(c *verifycache.Cache) { c.Invalidate("s2") }, now, true},
		{"its session's event", func(c *verifycache.Cache) { c.Events([]session.Event{{SessionID: "s1"}}) }, now, false},
		{"a reset", func(c *verifycache.Cache) { c.Reset() }, now, false},
		{"the tail not caught up", func(c *verifycache.Cache) { c.SetLive(false) }, now, false},
		{"the tail caught up again starts empty", func(c *verifycache.Cache) { c.SetLive(false); c.SetLive(true) }, now, false},
		{"a lookup that began before a revocation stores nothing", func(c *verifycache.Cache) {
			c.Reset()
			gen := c.Gen()
			c.Invalidate("s1")
			c.Put(k, entry, gen, now)
		}, now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := verifycache.New(time.Second, 0)
			c.SetLive(true)
			c.Put(k, entry, c.Gen(), now)
			tc.do(c)
			if _, ok := c.Get(k, tc.at); ok != tc.want {
				t.Errorf("Get = %v, want %v", ok, tc.want)
			}
		})
	}
}

func TestCacheNotLiveStoresNothing(t *testing.T) {
	c := verifycache.New(time.Second, 0)
	now := time.Now()
	k := verifycache.KeyOf("t")
	c.Put(k, verifycache.Entry{SessionID: "s", ExpiresAt: now.Add(time.Hour)}, c.Gen(), now)
	c.SetLive(true)
	if _, ok := c.Get(k, now); ok || c.Len() != 0 {
		t.Errorf("an entry stored before the tail was live is served (len %d)", c.Len())
	}
}

func TestCacheBounded(t *testing.T) {
	c := verifycache.New(time.Minute, 10)
	c.SetLive(true)
	now := time.Now()
	for i := 0; i < 25; i++ {
		c.Put(verifycache.KeyOf(string(rune('a'+i))), verifycache.Entry{SessionID: "s", ExpiresAt: now.Add(time.Hour)}, c.Gen(), now)
		if c.Len() > 10 {
			t.Fatalf("%d entries, want at most 10", c.Len())
		}
	}
}
