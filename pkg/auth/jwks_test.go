package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sessiond/sessiond/pkg/auth"
)

func TestVerifyKeyRotation(t *testing.T) {
	keys, srv := newRSAJWKS(t)
	v := mustVerifier(t, auth.Config{JWKSURL: srv.URL})
	ctx := context.Background()
	claims := with(claimsAt(time.Now()), "iss", nil, "aud", nil)

	if _, err := v.Verify(ctx, mustSign(t, jwt.SigningMethodRS256, keys.rsa1, "rsa1", claims)); err != nil {
		t.Fatalf("old key: got error %v, want nil", err)
	}
	if got, want := srv.hits.Load(), int64(1); got != want {
		t.Fatalf("JWKS fetches after start: got %d, want %d", got, want)
	}

	// The provider publishes new keys; tokens naming them must be accepted
	// without waiting for the hourly refresh.
	srv.add(t, "ec2", jwkset.AlgES256, &keys.ec2.PublicKey)
	srv.add(t, "rsa2", jwkset.AlgRS256, &keys.rsa2.PublicKey)
	p, err := v.Verify(ctx, mustSign(t, jwt.SigningMethodES256, keys.ec2, "ec2", claims))
	if err != nil {
		t.Fatalf("new kid: got error %v, want nil", err)
	}
	if got, want := p.Subject, "user-1"; got != want {
		t.Errorf("subject: got %q, want %q", got, want)
	}
	if got, want := srv.hits.Load(), int64(2); got != want {
		t.Errorf("JWKS fetches after unknown kid: got %d, want %d", got, want)
	}
	if _, err := v.Verify(ctx, mustSign(t, jwt.SigningMethodRS256, keys.rsa2, "rsa2", claims)); err != nil {
		t.Errorf("second new kid, already fetched: got error %v, want nil", err)
	}

	// Further unknown kids are rate limited: refused at once, no refetch.
	_, err = v.Verify(ctx, mustSign(t, jwt.SigningMethodRS256, keys.rsa1, "made-up", claims))
	if got, want := err, "invalid token: unknown signing key"; got == nil || got.Error() != want {
		t.Errorf("made-up kid: got %v, want %q", got, want)
	}
	if got, want := srv.hits.Load(), int64(2); got != want {
		t.Errorf("JWKS fetches after rate-limited kid: got %d, want %d", got, want)
	}
}

func TestVerifyAfterClose(t *testing.T) {
	keys, srv := newRSAJWKS(t)
	v := mustVerifier(t, auth.Config{JWKSURL: srv.URL})
	v.Close()
	v.Close()
	raw := mustSign(t, jwt.SigningMethodRS256, keys.rsa1, "rsa1", claimsAt(time.Now()))
	if _, err := v.Verify(context.Background(), raw); err != nil {
		t.Errorf("got error %v, want nil: fetched keys outlive Close", err)
	}
}

func TestNewVerifierErrors(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	notJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<html>"))
	}))
	t.Cleanup(notJSON.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	up := newJWKSServer(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name string
		ctx  context.Context
		c    auth.Config
	}{
		{"nothing configured", context.Background(), auth.Config{Issuer: testIssuer}},
		{"negative leeway", context.Background(), auth.Config{HS256Secret: testSecret, Leeway: -time.Second}},
		{"JWKS answers 500", context.Background(), auth.Config{JWKSURL: failing.URL}},
		{"JWKS is not JSON", context.Background(), auth.Config{JWKSURL: notJSON.URL}},
		{"JWKS unreachable", context.Background(), auth.Config{JWKSURL: closed.URL}},
		{"JWKS URL invalid", context.Background(), auth.Config{JWKSURL: "not a url"}},
		{"context cancelled", cancelled, auth.Config{JWKSURL: up.URL}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := auth.NewVerifier(tc.ctx, tc.c)
			if err == nil {
				v.Close()
				t.Fatal("got nil error, want one")
			}
		})
	}
}
