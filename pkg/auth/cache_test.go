package auth_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/auth"
)

// TestVerifyCachesTokens: a verified token is served from the cache until its
// exp, and never after.
func TestVerifyCachesTokens(t *testing.T) {
	keys, srv := newRSAJWKS(t)
	srv.add(t, "ec1", jwkset.AlgES256, &keys.ec1.PublicKey)
	v := mustVerifier(t, auth.Config{JWKSURL: srv.URL, HS256Secret: testSecret, Leeway: time.Millisecond})
	ctx := context.Background()
	claims := with(claimsAt(time.Now()), "iss", nil, "aud", nil)

	rs := mustSign(t, jwt.SigningMethodRS256, keys.rsa1, "rsa1", claims)
	first, err := v.Verify(ctx, rs)
	if err != nil {
		t.Fatal(err)
	}
	again, err := v.Verify(ctx, rs)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(first, again); d != "" {
		t.Errorf("cached principal differs (-first +again):\n%s", d)
	}
	if _, err := v.Verify(ctx, mustSign(t, jwt.SigningMethodES256, keys.ec1, "ec1", claims)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, mustSign(t, jwt.SigningMethodHS256, testSecret, "", claims)); err != nil {
		t.Fatal(err)
	}
	if got := auth.CachedTokens(v); got != 3 {
		t.Errorf("cached tokens: got %d, want 3", got)
	}
	// A tampered copy of a cached token is not a cache hit.
	if _, err := v.Verify(ctx, rs[:len(rs)-2]+"AA"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("tampered token: got %v, want ErrInvalidToken", err)
	}

	// A cached token stops verifying at its exp.
	short := mustSign(t, jwt.SigningMethodRS256, keys.rsa1, "rsa1", with(claims, "exp", time.Now().Add(time.Second).Unix()))
	if _, err := v.Verify(ctx, short); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(time.Unix(time.Now().Add(time.Second).Unix(), 0)) + 50*time.Millisecond)
	if _, err := v.Verify(ctx, short); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("cached token after exp: got %v, want ErrInvalidToken", err)
	}
}

func BenchmarkVerifyRS256(b *testing.B) {
	keys := mustKeys(b)
	srv := newJWKSServer(b)
	srv.add(b, "rsa1", jwkset.AlgRS256, &keys.rsa1.PublicKey)
	v := mustVerifier(b, auth.Config{JWKSURL: srv.URL})
	tok := mustSign(b, jwt.SigningMethodRS256, keys.rsa1, "rsa1", with(claimsAt(time.Now()), "iss", nil, "aud", nil))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyColdHS256 verifies tokens never seen before (cache misses).
func BenchmarkVerifyColdHS256(b *testing.B) {
	v := mustVerifier(b, auth.Config{HS256Secret: testSecret})
	toks := make([]string, b.N)
	for i := range toks {
		toks[i] = mustSign(b, jwt.SigningMethodHS256, testSecret, "", with(claimsAt(time.Now()), "sid", "s"+strconv.Itoa(i)))
	}
	benchVerify(b, v, toks)
}

// TestVerifyCacheHitAllocatesNothing: the forward-auth hot path serves a
// cached token with no heap allocation (hashing the token in place), for
// every algorithm.
func TestVerifyCacheHitAllocatesNothing(t *testing.T) {
	keys, srv := newRSAJWKS(t)
	srv.add(t, "ec1", jwkset.AlgES256, &keys.ec1.PublicKey)
	v := mustVerifier(t, auth.Config{JWKSURL: srv.URL, HS256Secret: testSecret, Issuer: testIssuer, Audience: testAudience})
	ctx := context.Background()
	claims := with(claimsAt(time.Now()), "scope", "sessions:read sessions:write")
	tests := []struct {
		name string
		tok  string
	}{
		{"HS256", mustSign(t, jwt.SigningMethodHS256, testSecret, "", claims)},
		{"RS256", mustSign(t, jwt.SigningMethodRS256, keys.rsa1, "rsa1", claims)},
		{"ES256", mustSign(t, jwt.SigningMethodES256, keys.ec1, "ec1", claims)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := v.Verify(ctx, tc.tok); err != nil {
				t.Fatal(err)
			}
			var err error
			allocs := testing.AllocsPerRun(100, func() { _, err = v.Verify(ctx, tc.tok) })
			if err != nil {
				t.Fatal(err)
			}
			if allocs != 0 {
				t.Errorf("cache hit: got %v allocations, want 0", allocs)
			}
		})
	}
}

// BenchmarkVerifyColdRS256 and BenchmarkVerifyColdES256 are
// BenchmarkVerifyColdHS256 for the JWKS algorithms: the full signature and
// claims check of a token new to the cache.
func BenchmarkVerifyColdRS256(b *testing.B) {
	keys := mustKeys(b)
	benchVerifyCold(b, jwt.SigningMethodRS256, keys.rsa1, "rsa1", jwkset.AlgRS256, &keys.rsa1.PublicKey)
}

func BenchmarkVerifyColdES256(b *testing.B) {
	keys := mustKeys(b)
	benchVerifyCold(b, jwt.SigningMethodES256, keys.ec1, "ec1", jwkset.AlgES256, &keys.ec1.PublicKey)
}

func benchVerifyCold(b *testing.B, m jwt.SigningMethod, key any, kid string, alg jwkset.ALG, pub any) {
	srv := newJWKSServer(b)
	srv.add(b, kid, alg, pub)
	v := mustVerifier(b, auth.Config{JWKSURL: srv.URL, Issuer: testIssuer, Audience: testAudience})
	// Signing is outside the timer; each token is new to the cache.
	toks := make([]string, b.N)
	for i := range toks {
		toks[i] = mustSign(b, m, key, kid, with(claimsAt(time.Now()), "sid", "s"+strconv.Itoa(i)))
	}
	benchVerify(b, v, toks)
}

// benchVerify times verifying each of toks once, one per iteration.
func benchVerify(b *testing.B, v *auth.Verifier, toks []string) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(ctx, toks[i]); err != nil {
			b.Fatal(err)
		}
	}
}
