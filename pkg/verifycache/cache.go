// Package verifycache keeps, per instance, what verify found for a token:
// the session's identity and expiry, so that a repeated verify of a live
// session does not go to Redis. It never answers for longer than MaxAge,
// past the session's cached expiry or the token's exp, or while the
// revocation tail is not caught up (Live false); revocations empty it for
// their sessions (the instance's own at once, others' through the tail).
package verifycache

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessiond/sessiond/pkg/session"
)

// DefaultMaxAge is SESSIOND_VERIFY_CACHE_MAX_AGE's default: the longest a
// lost revocation event can keep a revoked session verifying on another
// instance.
const DefaultMaxAge = time.Second

// DefaultMaxEntries bounds the entries kept.
const DefaultMaxEntries = 100000

// Entry is what verify needs of a session.
type Entry struct {
	SessionID, UserID, TenantID, PartnerID string
	// ExpiresAt is the session's expiry when it was read; TokenExp the
	// token's exp (zero: none).
	ExpiresAt, TokenExp       time.Time
	CreatedAt, LastActivityAt time.Time
	cachedAt                  time.Time
}

// Key is a token's hash.
type Key [sha256.Size]byte

// KeyOf hashes a raw token.
func KeyOf(token string) Key { return sha256.Sum256([]byte(token)) }

// Cache is safe for concurrent use. The zero value is not usable: use New.
type Cache struct {
	maxAge     time.Duration
	maxEntries int

	live atomic.Bool
	// gen counts invalidations: a lookup that began before one must not
	// store what it read (it may be the revoked session).
	gen atomic.Uint64

	mu        sync.Mutex
	byKey     map[Key]Entry
	bySession map[string][]Key
}

// New returns an empty cache, not live until SetLive(true).
func New(maxAge time.Duration, maxEntries int) *Cache {
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	return &Cache{maxAge: maxAge, maxEntries: maxEntries, byKey: map[Key]Entry{}, bySession: map[string][]Key{}}
}

// Get returns the entry of k if it may be served at now.
func (c *Cache) Get(k Key, now time.Time) (Entry, bool) {
	if c == nil || !c.live.Load() {
		return Entry{}, false
	}
	c.mu.Lock()
	e, ok := c.byKey[k]
	c.mu.Unlock()
	if !ok || now.Sub(e.cachedAt) >= c.maxAge || !now.Before(e.ExpiresAt) || (!e.TokenExp.IsZero() && !now.Before(e.TokenExp)) {
		return Entry{}, false
	}
	return e, true
}

// Gen is the invalidation count, to read before a lookup and give to Put.
func (c *Cache) Gen() uint64 {
	if c == nil {
		return 0
	}
	return c.gen.Load()
}

// Put stores what a lookup that began at generation gen found, unless
// something was invalidated since or the tail is not caught up.
func (c *Cache) Put(k Key, e Entry, gen uint64, now time.Time) {
	if c == nil || !c.live.Load() {
		return
	}
	e.cachedAt = now
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if len(c.byKey) >= c.maxEntries {
		c.clearLocked()
	}
	if _, had := c.byKey[k]; !had {
		c.bySession[e.SessionID] = append(c.bySession[e.SessionID], k)
	}
	c.byKey[k] = e
}

// Invalidate drops the entries of these sessions.
func (c *Cache) Invalidate(sessionIDs ...string) {
	if c == nil || len(sessionIDs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	for _, sid := range sessionIDs {
		for _, k := range c.bySession[sid] {
			delete(c.byKey, k)
		}
		delete(c.bySession, sid)
	}
}

// Reset drops everything (the tail could not vouch for what it missed).
func (c *Cache) Reset() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.clearLocked()
}

func (c *Cache) clearLocked() {
	clear(c.byKey)
	clear(c.bySession)
}

// SetLive says whether the revocation tail is caught up; while it is not,
// the cache neither answers nor stores, and going live starts empty.
func (c *Cache) SetLive(live bool) {
	if c == nil {
		return
	}
	if live && !c.live.Load() {
		c.Reset()
	}
	c.live.Store(live)
}

// Len is the number of entries.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byKey)
}

// Events drops the entries of the revoked sessions (it makes *Cache an
// events.Watcher).
func (c *Cache) Events(evs []session.Event) {
	ids := make([]string, 0, len(evs))
	for _, e := range evs {
		ids = append(ids, e.SessionID)
	}
	c.Invalidate(ids...)
}
