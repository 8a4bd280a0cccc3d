package signing

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWKSPath is where sessiond serves KeySet.Handler.
const JWKSPath = "/.well-known/jwks.json"

// JWKSMaxAge is the Cache-Control max-age of the JWKS response. Receivers
// that meet an unknown kid refetch anyway; the overlap of a rotation should
// be much longer than this.
const JWKSMaxAge = 5 * time.Minute

// KeySet is the current signing key plus the previous keys of a rotation.
// Only the current key signs. The JWKS publishes the current key always and
// the previous ones while the clock is before previousUntil, so that a
// receiver still holding a token signed just before the rotation (or a JWKS
// cached then) can verify it. It is safe for concurrent use.
//
// Rotation: make the new key current, pass the old one(s) as previous and
// set previousUntil to now plus the overlap. Computing previousUntil from
// the process start means a restart during the overlap extends it, never
// shortens it.
type KeySet struct {
	current       *Key
	previousUntil time.Time
	now           func() time.Time
	withPrevious  []byte // JWKS before previousUntil
	currentOnly   []byte // JWKS from previousUntil on
}

// NewKeySet builds a KeySet. current is required; previous keys equal to
// current, or to one another, are published once; a nil previous key is an
// error. now is the clock (time.Now when nil).
func NewKeySet(current *Key, previous []*Key, previousUntil time.Time, now func() time.Time) (*KeySet, error) {
	if current == nil {
		return nil, errors.New("signing: key set without a current key")
	}
	if now == nil {
		now = time.Now
	}
	keys := []JWK{current.PublicJWK()}
	seen := map[string]bool{current.KID(): true}
	for i, k := range previous {
		if k == nil {
			return nil, fmt.Errorf("signing: previous key %d is nil", i)
		}
		if !seen[k.KID()] {
			seen[k.KID()] = true
			keys = append(keys, k.PublicJWK())
		}
	}
	s := &KeySet{current: current, previousUntil: previousUntil, now: now}
	var err error
	if s.withPrevious, err = json.Marshal(JWKSet{Keys: keys}); err != nil {
		return nil, fmt.Errorf("signing: marshal JWKS: %w", err)
	}
	if s.currentOnly, err = json.Marshal(JWKSet{Keys: keys[:1]}); err != nil {
		return nil, fmt.Errorf("signing: marshal JWKS: %w", err)
	}
	return s, nil
}

// Current returns the key that signs.
func (s *KeySet) Current() *Key { return s.current }

// Sign signs with the current key; see Key.Sign.
func (s *KeySet) Sign(claims jwt.Claims, typ string) (string, error) {
	return s.current.Sign(claims, typ)
}

// JWKS returns the JWK Set JSON published now: the current key first, then
// the previous keys until previousUntil. Only public members appear. The
// caller must not modify the returned slice.
func (s *KeySet) JWKS() []byte {
	if s.now().Before(s.previousUntil) {
		return s.withPrevious
	}
	return s.currentOnly
}

// Handler serves JWKS to GET and HEAD with Content-Type application/json and
// Cache-Control "public, max-age=JWKSMaxAge"; other methods get 405. It
// does not look at the path: mount it at JWKSPath.
func (s *KeySet) Handler() http.Handler {
	cacheControl := "public, max-age=" + strconv.Itoa(int(JWKSMaxAge/time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body := s.JWKS()
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", cacheControl)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
}
