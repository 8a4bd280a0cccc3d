package auth

import (
	"strconv"
	"testing"
	"time"
)

func TestSigCacheBounded(t *testing.T) {
	c := newSigCache()
	now := time.Now()
	for i := 0; i < maxCachedTokens*2; i++ {
		c.put(tokenKey(strconv.Itoa(i)), Principal{Subject: "u", ExpiresAt: now.Add(time.Hour)}, now)
		if n := c.len(); n > maxCachedTokens {
			t.Fatalf("after %d puts the cache holds %d, want <= %d", i+1, n, maxCachedTokens)
		}
	}
}

func TestSigCacheExpiry(t *testing.T) {
	c := newSigCache()
	now := time.Now()
	k := tokenKey("tok")
	c.put(k, Principal{Subject: "u", ExpiresAt: now.Add(time.Minute)}, now)
	cases := []struct {
		name string
		at   time.Time
		hit  bool
	}{
		{"before exp", now.Add(59 * time.Second), true},
		{"at exp", now.Add(time.Minute), false},
		{"after exp (entry dropped)", now.Add(30 * time.Second), false},
	}
	for _, tc := range cases {
		if _, ok := c.get(k, tc.at); ok != tc.hit {
			t.Errorf("%s: got hit=%v, want %v", tc.name, ok, tc.hit)
		}
	}
	c.put(tokenKey("old"), Principal{ExpiresAt: now.Add(-time.Second)}, now)
	if n := c.len(); n != 0 {
		t.Errorf("an expired token was cached: len %d", n)
	}
}

// CachedTokens exposes the cache size to the external tests.
func (v *Verifier) cachedTokens() int {
	return v.cache.len()
}
