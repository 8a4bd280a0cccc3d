package client

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// CacheOptions configure a CachingVerifier.
type CacheOptions struct {
	// MaxEntries bounds the number of cached verify results (default 10000).
	MaxEntries int
	// MaxStaleness bounds how long a result is served from the cache
	// (default 5s), however healthy the stream looks; a result is never
	// served past its token's exp either. It caps the damage of a stream
	// that stalls without breaking before IdleTimeout notices.
	MaxStaleness time.Duration
	// EventsClient follows the revocation stream; its token needs scope
	// sessions:read. The verifying client itself when nil.
	EventsClient *Client
	// ReconnectBackoff is the first wait before reconnecting a broken
	// stream (default 100ms); it doubles after each failed attempt, with
	// jitter, up to MaxReconnectBackoff (default 5s).
	ReconnectBackoff    time.Duration
	MaxReconnectBackoff time.Duration
	// IdleTimeout ends a stream that sent nothing, not even a keep-alive,
	// for that long (default 45s, three of sessiond's keep-alive periods),
	// so that a half-open connection counts as broken.
	IdleTimeout time.Duration
}

// Defaults of CacheOptions.
const (
	DefaultCacheEntries        = 10000
	DefaultMaxStaleness        = 5 * time.Second
	DefaultReconnectBackoff    = 100 * time.Millisecond
	DefaultMaxReconnectBackoff = 5 * time.Second
	DefaultStreamIdleTimeout   = 45 * time.Second
)

// cacheShards spreads the cache over several locks for concurrent gateways.
const cacheShards = 16

// revokedRing is how many recent revocations a verify in flight is checked
// against before its result is cached; a verify that more revocations than
// this overtake is simply not cached.
const revokedRing = 4096

// CachingVerifier is a fail-safe cache in front of Client.Verify for
// gateways. Successful results are cached, keyed by the SHA-256 of the
// token (tokens are never stored), for at most MaxStaleness, and only while
// the revocation stream is connected: Run follows it and drops the entries
// of each revoked session as its event arrives. While the stream is broken
// the cache is empty and every Verify goes to sessiond. Failures are never
// cached.
//
// A result is cached only if no revocation of its session, reset or
// reconnection happened while its verify was in flight, so a revocation
// that overtakes a verify is not lost.
type CachingVerifier struct {
	c, events *Client
	o         CacheOptions
	shards    [cacheShards]cacheShard
	nshards   int

	connected atomic.Bool
	// epoch changes on every connect, disconnect and reset: a verify in
	// flight across one is not cached.
	epoch atomic.Uint64

	// rmu guards ring; seq counts revocations (written under rmu).
	rmu  sync.Mutex
	ring [revokedRing]string
	seq  atomic.Uint64

	running                                     atomic.Bool
	hits, misses, revocations, resets, connects atomic.Uint64

	// dropped, when set before Run, is told of each revocation applied.
	dropped func(sessionID string, entries int)
}

type cacheShard struct {
	mu    sync.Mutex
	limit int
	m     map[[32]byte]*cacheEntry
	bySID map[string][]*cacheEntry
	fifo  list.List // of *cacheEntry, oldest first
}

type cacheEntry struct {
	key [32]byte
	id  Identity
	exp time.Time
	el  *list.Element
}

// NewCachingVerifier returns a CachingVerifier verifying with c. Nothing is
// cached until Run has connected the stream.
func NewCachingVerifier(c *Client, o CacheOptions) *CachingVerifier {
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultCacheEntries
	}
	if o.MaxStaleness <= 0 {
		o.MaxStaleness = DefaultMaxStaleness
	}
	if o.EventsClient == nil {
		o.EventsClient = c
	}
	if o.ReconnectBackoff <= 0 {
		o.ReconnectBackoff = DefaultReconnectBackoff
	}
	if o.MaxReconnectBackoff <= 0 {
		o.MaxReconnectBackoff = DefaultMaxReconnectBackoff
	}
	o.MaxReconnectBackoff = max(o.MaxReconnectBackoff, o.ReconnectBackoff)
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultStreamIdleTimeout
	}
	v := &CachingVerifier{c: c, events: o.EventsClient, o: o, nshards: min(cacheShards, o.MaxEntries)}
	for i := 0; i < v.nshards; i++ {
		sh := &v.shards[i]
		// The shard limits add up to MaxEntries exactly.
		sh.limit = o.MaxEntries / v.nshards
		if i < o.MaxEntries%v.nshards {
			sh.limit++
		}
		sh.m = make(map[[32]byte]*cacheEntry)
		sh.bySID = make(map[string][]*cacheEntry)
	}
	return v
}

// CacheStats are a CachingVerifier's figures since it was made.
type CacheStats struct {
	Hits, Misses uint64
	// Entries is the number of cached results now.
	Entries int
	// Connected says whether the stream is connected (and the cache in use).
	Connected bool
	// Revocations and Resets count the stream's events applied; Connects
	// counts successful stream connections.
	Revocations, Resets, Connects uint64
}

// Stats returns the current figures.
func (v *CachingVerifier) Stats() CacheStats {
	st := CacheStats{
		Hits: v.hits.Load(), Misses: v.misses.Load(), Connected: v.connected.Load(),
		Revocations: v.revocations.Load(), Resets: v.resets.Load(), Connects: v.connects.Load(),
	}
	for i := 0; i < v.nshards; i++ {
		sh := &v.shards[i]
		sh.mu.Lock()
		st.Entries += len(sh.m)
		sh.mu.Unlock()
	}
	return st
}

// Verify is Client.Verify, answered from the cache when it holds a fresh
// result for token and the stream is connected.
func (v *CachingVerifier) Verify(ctx context.Context, token string) (Identity, error) {
	// Hashing the token's bytes in place: Sum256 only reads them.
	key := sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
	sh := &v.shards[int(key[0])%v.nshards]
	now := time.Now()
	if v.connected.Load() {
		sh.mu.Lock()
		if e := sh.m[key]; e != nil {
			if now.Before(e.exp) {
				id := e.id
				sh.mu.Unlock()
				v.hits.Add(1)
				return id, nil
			}
			sh.remove(e)
		}
		sh.mu.Unlock()
	}
	v.misses.Add(1)
	// Snapshot before asking: whatever changes from here on may postdate
	// the server's answer.
	connected, epoch, seq := v.connected.Load(), v.epoch.Load(), v.seq.Load()
	id, err := v.c.Verify(ctx, token)
	if err != nil || !connected {
		return id, err
	}
	exp := now.Add(v.o.MaxStaleness)
	if tokExp, ok := tokenExpiry(token); ok && tokExp.Before(exp) {
		exp = tokExp
	}
	if exp.After(now) {
		v.insert(sh, key, id, exp, epoch, seq)
	}
	return id, nil
}

// insert caches a result unless the stream's state changed, or its session
// was revoked, since the verify started.
func (v *CachingVerifier) insert(sh *cacheShard, key [32]byte, id Identity, exp time.Time, epoch, seq uint64) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	// Checked under the shard lock: a disconnect, reset or revocation that
	// comes later clears this shard after us, which removes the entry.
	if !v.connected.Load() || v.epoch.Load() != epoch || v.revokedSince(seq, id.SessionID) {
		return
	}
	if old := sh.m[key]; old != nil {
		sh.remove(old)
	}
	for len(sh.m) >= sh.limit {
		sh.remove(sh.fifo.Front().Value.(*cacheEntry))
	}
	e := &cacheEntry{key: key, id: id, exp: exp}
	e.el = sh.fifo.PushBack(e)
	sh.m[key] = e
	sh.bySID[id.SessionID] = append(sh.bySID[id.SessionID], e)
}

// revokedSince reports whether sid may have been revoked after seq.
func (v *CachingVerifier) revokedSince(seq uint64, sid string) bool {
	v.rmu.Lock()
	defer v.rmu.Unlock()
	cur := v.seq.Load()
	if cur-seq > revokedRing {
		return true
	}
	for i := seq; i < cur; i++ {
		if v.ring[i%revokedRing] == sid {
			return true
		}
	}
	return false
}

func (sh *cacheShard) remove(e *cacheEntry) {
	delete(sh.m, e.key)
	sh.fifo.Remove(e.el)
	list := sh.bySID[e.id.SessionID]
	for i, x := range list {
		if x == e {
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		delete(sh.bySID, e.id.SessionID)
	} else {
		sh.bySID[e.id.SessionID] = list
	}
}

// dropSession removes every entry of a session and returns how many.
func (v *CachingVerifier) dropSession(sid string) int {
	v.rmu.Lock()
	n := v.seq.Load()
	v.ring[n%revokedRing] = sid
	v.seq.Store(n + 1)
	v.rmu.Unlock()
	dropped := 0
	for i := 0; i < v.nshards; i++ {
		sh := &v.shards[i]
		sh.mu.Lock()
		for _, e := range sh.bySID[sid] {
			delete(sh.m, e.key)
			sh.fifo.Remove(e.el)
			dropped++
		}
		delete(sh.bySID, sid)
		sh.mu.Unlock()
	}
	return dropped
}

// clear empties the cache; epoch changes first, so that no verify in
// flight refills it.
func (v *CachingVerifier) clear() {
	v.epoch.Add(1)
	for i := 0; i < v.nshards; i++ {
		sh := &v.shards[i]
		sh.mu.Lock()
		clear(sh.m)
		clear(sh.bySID)
		sh.fifo.Init()
		sh.mu.Unlock()
	}
}

// tokenExpiry reads a JWT's exp claim without checking the token: sessiond
// has just accepted it, and this only keeps a cached result from outliving
// the token.
func tokenExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	f, err := claims.Exp.Float64()
	if err != nil {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), true
}
