package auth

import (
	"context"
	"errors"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestKeyRefusesDisabledAlgorithms checks the key func on its own: the parser
// already pins the algorithms, and the key func must hold the line even if
// that pin were lost.
func TestKeyRefusesDisabledAlgorithms(t *testing.T) {
	jwksOnly := &Verifier{jwks: nil}
	hsOnly := &Verifier{secret: []byte("secret")}
	tests := []struct {
		name   string
		v      *Verifier
		method jwt.SigningMethod
		want   error
	}{
		{"HS256 without secret", jwksOnly, jwt.SigningMethodHS256, errAlgNotAllowed},
		{"RS256 without JWKS", hsOnly, jwt.SigningMethodRS256, errAlgNotAllowed},
		{"ES256 without JWKS", hsOnly, jwt.SigningMethodES256, errAlgNotAllowed},
		{"HS512", hsOnly, jwt.SigningMethodHS512, errAlgNotAllowed},
		{"PS256", hsOnly, jwt.SigningMethodPS256, errAlgNotAllowed},
		{"none", hsOnly, jwt.SigningMethodNone, errAlgNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tc.v.key(context.Background(), jwt.New(tc.method))
			if !errors.Is(err, tc.want) {
				t.Errorf("got key %T and error %v, want %v", k, err, tc.want)
			}
		})
	}
}
