package redisstore

import (
	"sync"
	"time"
)

// partnerCache remembers tenants' partners (tp:{T}) so that the verify hot
// path reads only the session hash. It is safe because of how create.lua
// writes tp:{T}: it is set only while absent, never changed or deleted, and
// its expiry only moves later (PEXPIREAT GT). So while tp:{T} exists its
// value cannot change, and a value read together with its expiry time holds
// until that time. An entry is kept until that expiry less a margin for clock
// skew between this host and Redis, and at most partnerCacheMaxAge. A tenant
// without a partner is never cached: its first partner may arrive at any
// moment (adoption).
type partnerCache struct {
	mu      sync.RWMutex
	entries map[string]partnerEntry
}

type partnerEntry struct {
	partner string
	until   time.Time
}

const (
	partnerCacheMaxAge  = time.Minute
	partnerCacheMargin  = time.Second
	partnerCacheEntries = 10_000
)

func (c *partnerCache) get(tenantID string, now time.Time) (string, bool) {
	c.mu.RLock()
	e, ok := c.entries[tenantID]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return "", false
	}
	return e.partner, true
}

// put records partner as tenantID's, read with the key's absolute expiry in
// Unix ms (PEXPIRETIME: -1 for none, -2 for no key).
func (c *partnerCache) put(tenantID, partner string, expireMS int64, now time.Time) {
	if partner == "" || expireMS == -2 {
		return
	}
	until := now.Add(partnerCacheMaxAge)
	if expireMS >= 0 {
		if at := time.UnixMilli(expireMS).Add(-partnerCacheMargin); at.Before(until) {
			until = at
		}
	}
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= partnerCacheEntries {
		c.entries = make(map[string]partnerEntry)
	}
	c.entries[tenantID] = partnerEntry{partner: partner, until: until}
	c.mu.Unlock()
}

// expireMS turns a PEXPIRETIME reply back into Unix ms; go-redis keeps -1 (no
// expiry) and -2 (no key) as they are.
func expireMS(d time.Duration) int64 {
	if d < 0 {
		return int64(d)
	}
	return d.Milliseconds()
}
