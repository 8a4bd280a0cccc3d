package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sessiond/sessiond/pkg/auth"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

const (
	testIssuer   = "https://idp.example.test"
	testAudience = "sessiond"
)

// testKeys are generated once per test binary: RSA key generation is slow.
type testKeys struct {
	rsa1, rsa2 *rsa.PrivateKey
	ec1, ec2   *ecdsa.PrivateKey
}

var keysOnce = sync.OnceValues(func() (testKeys, error) {
	var k testKeys
	var err error
	if k.rsa1, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return k, err
	}
	if k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return k, err
	}
	if k.ec1, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return k, err
	}
	k.ec2, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return k, err
})

func mustKeys(tb testing.TB) testKeys {
	tb.Helper()
	k, err := keysOnce()
	if err != nil {
		tb.Fatalf("generate keys: %v", err)
	}
	return k
}

// jwksServer serves a JWK Set that tests can change while it runs.
type jwksServer struct {
	*httptest.Server
	store *jwkset.MemoryJWKSet
	hits  atomic.Int64
}

// newRSAJWKS serves rsa1's public key (RS256), the key most tests sign
// with.
func newRSAJWKS(tb testing.TB) (testKeys, *jwksServer) {
	tb.Helper()
	keys := mustKeys(tb)
	srv := newJWKSServer(tb)
	srv.add(tb, "rsa1", jwkset.AlgRS256, &keys.rsa1.PublicKey)
	return keys, srv
}

func newJWKSServer(tb testing.TB) *jwksServer {
	tb.Helper()
	s := &jwksServer{store: jwkset.NewMemoryStorage()}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		b, err := s.store.JSONPublic(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}))
	tb.Cleanup(s.Close)
	return s
}

// add publishes a public key under kid; alg may be empty to leave it out of
// the JWK.
func (s *jwksServer) add(tb testing.TB, kid string, alg jwkset.ALG, pub any) {
	tb.Helper()
	j, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: alg, USE: jwkset.UseSig},
	})
	if err != nil {
		tb.Fatalf("build JWK %s: %v", kid, err)
	}
	if err := s.store.KeyWrite(context.Background(), j); err != nil {
		tb.Fatalf("store JWK %s: %v", kid, err)
	}
}

func mustVerifier(tb testing.TB, c auth.Config) *auth.Verifier {
	tb.Helper()
	v, err := auth.NewVerifier(context.Background(), c)
	if err != nil {
		tb.Fatalf("NewVerifier: %v", err)
	}
	tb.Cleanup(v.Close)
	return v
}

// claimsAt returns valid claims for a plain user token issued at now.
func claimsAt(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"sub":       "user-1",
		"tenant_id": "t1",
		"sid":       "s1",
		"iss":       testIssuer,
		"aud":       testAudience,
		"iat":       now.Unix(),
		"exp":       now.Add(time.Hour).Unix(),
	}
}

// with returns a copy of c with the given claims changed; a nil value removes
// the claim.
func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := make(jwt.MapClaims, len(c)+len(kv)/2)
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
			continue
		}
		out[k] = kv[i+1]
	}
	return out
}

// mustSign signs claims with method and key, naming kid in the header when it
// is not empty.
func mustSign(tb testing.TB, m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	tb.Helper()
	t := jwt.NewWithClaims(m, c)
	if kid != "" {
		t.Header["kid"] = kid
	}
	s, err := t.SignedString(key)
	if err != nil {
		tb.Fatalf("sign %s token: %v", m.Alg(), err)
	}
	return s
}
