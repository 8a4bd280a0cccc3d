package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/auth"
)

// newVerifyJWKS serves the public keys the verify tests sign with: rsa1
// (RS256), ec1 (ES256) and ec-noalg (ec2 published without an alg).
func newVerifyJWKS(tb testing.TB) (testKeys, *jwksServer) {
	tb.Helper()
	keys, srv := newRSAJWKS(tb)
	srv.add(tb, "ec1", jwkset.AlgES256, &keys.ec1.PublicKey)
	srv.add(tb, "ec-noalg", "", &keys.ec2.PublicKey)
	return keys, srv
}

func TestVerifyFailures(t *testing.T) {
	now := time.Now()
	keys, srv := newVerifyJWKS(t)

	hs := mustVerifier(t, auth.Config{HS256Secret: testSecret, Issuer: testIssuer, Audience: testAudience})
	jw := mustVerifier(t, auth.Config{JWKSURL: srv.URL, Issuer: testIssuer, Audience: testAudience})
	both := mustVerifier(t, auth.Config{HS256Secret: testSecret, JWKSURL: srv.URL, Issuer: testIssuer, Audience: testAudience})

	der, err := x509.MarshalPKIXPublicKey(&keys.rsa1.PublicKey)
	if err != nil {
		t.Fatalf("marshal RSA public key: %v", err)
	}
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatalf("generate P-384 key: %v", err)
	}

	valid := claimsAt(now)
	hs256 := func(c jwt.MapClaims) string { return mustSign(t, jwt.SigningMethodHS256, testSecret, "", c) }
	none := mustSign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", valid)
	good := strings.Split(hs256(valid), ".")
	forged := strings.Split(mustSign(t, jwt.SigningMethodHS256, []byte("other secret"), "", with(valid, "role", "super_admin")), ".")

	tests := []struct {
		name string
		v    *auth.Verifier
		raw  string
		want string
	}{
		{"alg none", hs, none, "algorithm not allowed"},
		{"alg none with JWKS", both, none, "algorithm not allowed"},
		{"alg NONE", hs, "eyJhbGciOiJOT05FIiwidHlwIjoiSldUIn0." + good[1] + ".", "algorithm not allowed"},
		{"alg missing", hs, "eyJ0eXAiOiJKV1QifQ." + good[1] + "." + good[2], "algorithm not allowed"},
		{"HS384 with the secret", hs, mustSign(t, jwt.SigningMethodHS384, testSecret, "", valid), "algorithm not allowed"},
		{"HS512 with the secret", hs, mustSign(t, jwt.SigningMethodHS512, testSecret, "", valid), "algorithm not allowed"},
		{"RS256 without JWKS", hs, mustSign(t, jwt.SigningMethodRS256, keys.rsa1, "rsa1", valid), "algorithm not allowed"},
		{"PS256 with a JWKS key", jw, mustSign(t, jwt.SigningMethodPS256, keys.rsa1, "rsa1", valid), "algorithm not allowed"},
		{"ES384 with JWKS", jw, mustSign(t, jwt.SigningMethodES384, p384, "ec1", valid), "algorithm not allowed"},
		{"HS256 without secret", jw, hs256(valid), "algorithm not allowed"},
		{"HS256 with RSA public key PEM as secret", jw, mustSign(t, jwt.SigningMethodHS256, rsaPEM, "rsa1", valid), "algorithm not allowed"},
		{"HS256 with RSA public key PEM as secret, no kid", jw, mustSign(t, jwt.SigningMethodHS256, rsaPEM, "", valid), "algorithm not allowed"},
		{"HS256 with RSA public key PEM as secret, HS256 enabled", both, mustSign(t, jwt.SigningMethodHS256, rsaPEM, "rsa1", valid), "signature invalid"},
		{"HS256 with RSA public key DER as secret, HS256 enabled", both, mustSign(t, jwt.SigningMethodHS256, der, "rsa1", valid), "signature invalid"},
		{"expired", hs, hs256(with(valid, "exp", now.Add(-time.Hour).Unix())), "token expired"},
		{"expired beyond leeway", hs, hs256(with(valid, "exp", now.Add(-2*time.Minute).Unix())), "token expired"},
		{"nbf in the future", hs, hs256(with(valid, "nbf", now.Add(time.Hour).Unix())), "token not valid yet"},
		{"nbf beyond leeway", hs, hs256(with(valid, "nbf", now.Add(2*time.Minute).Unix())), "token not valid yet"},
		{"iat in the future", hs, hs256(with(valid, "iat", now.Add(10*time.Minute).Unix())), "token issued in the future"},
		{"missing exp", hs, hs256(with(valid, "exp", nil)), "missing exp"},
		{"missing exp and expired-looking nbf", hs, hs256(with(valid, "exp", nil, "nbf", now.Add(time.Hour).Unix())), "missing exp"},
		{"wrong secret", hs, mustSign(t, jwt.SigningMethodHS256, []byte("other secret"), "", valid), "signature invalid"},
		{"tampered claims", hs, good[0] + "." + forged[1] + "." + good[2], "signature invalid"},
		{"signature stripped", hs, good[0] + "." + good[1] + ".", "signature invalid"},
		{"wrong issuer", hs, hs256(with(valid, "iss", "https://evil.example.test")), "wrong issuer"},
		{"missing issuer", hs, hs256(with(valid, "iss", nil)), "wrong issuer"},
		{"wrong audience", hs, hs256(with(valid, "aud", "other")), "wrong audience"},
		{"wrong audience list", hs, hs256(with(valid, "aud", []string{"a", "b"})), "wrong audience"},
		{"missing audience", hs, hs256(with(valid, "aud", nil)), "wrong audience"},
		{"empty", hs, "", "missing token"},
		{"garbage", hs, "garbage", "malformed token"},
		{"three garbage segments", hs, "a.b.c", "malformed token"},
		{"dots", hs, "..", "malformed token"},
		{"four segments", hs, hs256(valid) + ".x", "malformed token"},
		{"bearer prefix left on", hs, "Bearer " + hs256(valid), "malformed token"},
		{"header not JSON", hs, "bm90IGpzb24." + good[1] + "." + good[2], "malformed token"},
		{"padded base64", hs, good[0] + "=." + good[1] + "." + good[2], "malformed token"},
		{"larger than 8 KiB", hs, hs256(with(valid, "pad", strings.Repeat("x", auth.MaxTokenSize))), "token too large"},
		{"sub is a number", hs, hs256(with(valid, "sub", 123)), "malformed token"},
		{"tenant_id is a number", hs, hs256(with(valid, "tenant_id", 5)), "malformed token"},
		{"partner_id is a bool", hs, hs256(with(valid, "partner_id", false)), "malformed token"},
		{"role is a list", hs, hs256(with(valid, "role", []string{"super_admin"})), "malformed token"},
		{"sid is an object", hs, hs256(with(valid, "sid", map[string]any{"id": "s1"})), "malformed token"},
		{"token_type is a number", hs, hs256(with(valid, "token_type", 1.5)), "malformed token"},
		{"scope is a number", hs, hs256(with(valid, "scope", 5)), "malformed token"},
		{"scope list of numbers", hs, hs256(with(valid, "scope", []int{1, 2})), "malformed token"},
		{"platform_token is a string", hs, hs256(with(valid, "platform_token", "true")), "malformed token"},
		{"exp is a string", hs, hs256(with(valid, "exp", "tomorrow")), "malformed token"},
		{"aud is a number", hs, hs256(with(valid, "aud", 5)), "malformed token"},
		{"kid is a number", jw, mustSignKID(t, jwt.SigningMethodRS256, keys.rsa1, 7, valid), "malformed token"},
		{"RS256 unknown kid", jw, mustSign(t, jwt.SigningMethodRS256, keys.rsa1, "nobody", valid), "unknown signing key"},
		{"RS256 signed by another key", jw, mustSign(t, jwt.SigningMethodRS256, keys.rsa2, "rsa1", valid), "signature invalid"},
		{"ES256 signed by another key", jw, mustSign(t, jwt.SigningMethodES256, keys.ec2, "ec1", valid), "signature invalid"},
		{"ES256 naming an RS256 key", jw, mustSign(t, jwt.SigningMethodES256, keys.ec1, "rsa1", valid), "signing key does not match algorithm"},
		{"RS256 naming an EC key without alg", jw, mustSign(t, jwt.SigningMethodRS256, keys.rsa1, "ec-noalg", valid), "signing key does not match algorithm"},
		{"RS256 without kid, wrong key", jw, mustSign(t, jwt.SigningMethodRS256, keys.rsa2, "", valid), "signature invalid"},
		{"RS256 expired", jw, mustSign(t, jwt.SigningMethodRS256, keys.rsa1, "rsa1", with(valid, "exp", now.Add(-time.Hour).Unix())), "token expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.v.Verify(context.Background(), tc.raw)
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("got error %v, want one wrapping ErrInvalidToken", err)
			}
			if got, want := err.Error(), "invalid token: "+tc.want; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
			if tc.raw != "" && strings.Contains(err.Error(), tc.raw) {
				t.Errorf("got error %q, want one without the token", err)
			}
			if diff := cmp.Diff(auth.Principal{}, p); diff != "" {
				t.Errorf("got a principal on failure (-want +got):\n%s", diff)
			}
		})
	}
}

func mustSignKID(tb testing.TB, m jwt.SigningMethod, key any, kid any, c jwt.MapClaims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(m, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	return s
}

func TestVerifySuccess(t *testing.T) {
	now := time.Now()
	exp := time.Unix(now.Add(time.Hour).Unix(), 0)
	keys, srv := newVerifyJWKS(t)

	hs := mustVerifier(t, auth.Config{HS256Secret: testSecret, Issuer: testIssuer, Audience: testAudience})
	plain := mustVerifier(t, auth.Config{HS256Secret: testSecret})
	jw := mustVerifier(t, auth.Config{JWKSURL: srv.URL, Issuer: testIssuer, Audience: testAudience})
	both := mustVerifier(t, auth.Config{HS256Secret: testSecret, JWKSURL: srv.URL, Issuer: testIssuer, Audience: testAudience, HTTPClient: srv.Client()})

	valid := claimsAt(now)
	user := auth.Principal{Subject: "user-1", TenantID: "t1", SessionID: "s1", ExpiresAt: exp}
	hs256 := func(c jwt.MapClaims) string { return mustSign(t, jwt.SigningMethodHS256, testSecret, "", c) }
	withExp := func(p auth.Principal, e time.Time) auth.Principal { p.ExpiresAt = time.Unix(e.Unix(), 0); return p }

	tests := []struct {
		name string
		v    *auth.Verifier
		raw  string
		want auth.Principal
	}{
		{"HS256 user", hs, hs256(valid), user},
		{"HS256 all claims", hs, hs256(with(valid, "partner_id", "p1", "role", "tenant_admin", "scope", "a b  c", "token_type", "access", "platform_token", false)),
			auth.Principal{Subject: "user-1", TenantID: "t1", PartnerID: "p1", SessionID: "s1", Role: "tenant_admin", TokenType: "access", Scopes: []string{"a", "b", "c"}, ExpiresAt: exp}},
		{"HS256 scope as a list", hs, hs256(with(valid, "scope", []string{"sessions:read", "sessions:write"}, "sid", nil, "token_type", "client_credentials")),
			auth.Principal{Subject: "user-1", TenantID: "t1", TokenType: "client_credentials", Scopes: []string{"sessions:read", "sessions:write"}, ExpiresAt: exp}},
		{"HS256 platform", hs, hs256(with(valid, "platform_token", true, "scope", "admin:read", "sid", nil, "tenant_id", nil)),
			auth.Principal{Subject: "user-1", Platform: true, Scopes: []string{"admin:read"}, ExpiresAt: exp}},
		{"HS256 scope with escapes", hs, hs256(with(valid, "scope", "admin:read\tsessions:<read>")),
			auth.Principal{Subject: "user-1", TenantID: "t1", SessionID: "s1", Scopes: []string{"admin:read", "sessions:<read>"}, ExpiresAt: exp}},
		{"HS256 empty scope", hs, hs256(with(valid, "scope", "")), user},
		{"HS256 null claims", hs, hs256(with(valid, "role", nil, "scope", nil)), user},
		{"HS256 audience list", hs, hs256(with(valid, "aud", []string{"other", testAudience})), user},
		{"HS256 expired within leeway", hs, hs256(with(valid, "exp", now.Add(-10*time.Second).Unix())), withExp(user, now.Add(-10*time.Second))},
		{"HS256 nbf within leeway", hs, hs256(with(valid, "nbf", now.Add(10*time.Second).Unix())), user},
		{"HS256 iat within leeway", hs, hs256(with(valid, "iat", now.Add(10*time.Second).Unix())), user},
		{"HS256 without iss and aud when none configured", plain, hs256(with(valid, "iss", nil, "aud", nil)), user},
		{"HS256 with iss and aud when none configured", plain, hs256(valid), user},
		{"HS256 with JWKS configured too", both, hs256(valid), user},
		{"RS256 by kid", jw, mustSign(t, jwt.SigningMethodRS256, keys.rsa1, "rsa1", valid), user},
		{"ES256 by kid", jw, mustSign(t, jwt.SigningMethodES256, keys.ec1, "ec1", valid), user},
		{"ES256 by kid without alg in the JWK", jw, mustSign(t, jwt.SigningMethodES256, keys.ec2, "ec-noalg", valid), user},
		{"RS256 without kid", jw, mustSign(t, jwt.SigningMethodRS256, keys.rsa1, "", valid), user},
		{"ES256 without kid", jw, mustSign(t, jwt.SigningMethodES256, keys.ec2, "", valid), user},
		{"RS256 with HS256 configured too", both, mustSign(t, jwt.SigningMethodRS256, keys.rsa1, "rsa1", valid), user},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.v.Verify(context.Background(), tc.raw)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("principal mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyConcurrent(t *testing.T) {
	keys, srv := newRSAJWKS(t)
	v := mustVerifier(t, auth.Config{HS256Secret: testSecret, JWKSURL: srv.URL})
	c := with(claimsAt(time.Now()), "iss", nil, "aud", nil)
	raws := []string{
		mustSign(t, jwt.SigningMethodHS256, testSecret, "", c),
		mustSign(t, jwt.SigningMethodRS256, keys.rsa1, "rsa1", c),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(raws))
	for range 8 {
		for _, raw := range raws {
			wg.Go(func() {
				_, err := v.Verify(context.Background(), raw)
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("got error %v, want nil", err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(mustSign(f, jwt.SigningMethodHS256, testSecret, "", claimsAt(time.Now())))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	v := mustVerifier(f, auth.Config{HS256Secret: testSecret})
	f.Fuzz(func(t *testing.T, raw string) {
		_, err := v.Verify(context.Background(), raw)
		if err != nil && !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("got error %v, want one wrapping ErrInvalidToken", err)
		}
	})
}

func BenchmarkVerifyHS256(b *testing.B) {
	v := mustVerifier(b, auth.Config{HS256Secret: testSecret, Issuer: testIssuer, Audience: testAudience})
	raw := mustSign(b, jwt.SigningMethodHS256, testSecret, "", with(claimsAt(time.Now()), "scope", "sessions:read sessions:write"))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}
