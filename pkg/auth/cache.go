package auth

import (
	"crypto/sha256"
	"sync"
	"time"
	"unsafe"
)

// maxCachedTokens bounds the verified-signature cache.
const maxCachedTokens = 10000

// sigCache remembers tokens whose signature and claims were verified, until
// their exp, so that a gateway sending the same token again does not pay for
// an asymmetric verification (tens of µs) or even for decoding the claims
// (HS256: several µs and ~50 allocations) each time. Keys are SHA-256
// digests of the whole token: the cache holds no token, and a token that
// differs in any byte is verified afresh.
type sigCache struct {
	mu sync.Mutex
	m  map[[32]byte]Principal
}

func newSigCache() *sigCache { return &sigCache{m: make(map[[32]byte]Principal)} }

// get returns the principal of a cached token that has not expired.
func (c *sigCache) get(key [32]byte, now time.Time) (Principal, bool) {
	c.mu.Lock()
	p, ok := c.m[key]
	if ok && !now.Before(p.ExpiresAt) {
		delete(c.m, key)
		ok = false
	}
	c.mu.Unlock()
	return p, ok
}

// put caches a verified token until its exp. When full it first drops
// expired entries, then arbitrary ones (map order), so memory stays bounded.
func (c *sigCache) put(key [32]byte, p Principal, now time.Time) {
	if p.ExpiresAt.IsZero() || !now.Before(p.ExpiresAt) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedTokens {
		for k, v := range c.m {
			if !now.Before(v.ExpiresAt) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < maxCachedTokens*9/10 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = p
}

func (c *sigCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// tokenKey hashes the whole token. It reads raw's bytes in place: []byte(raw)
// would copy the token to the heap on every request, and Sum256 neither
// keeps nor changes its input.
func tokenKey(raw string) [32]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}
