package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/testproc"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sessiond/sessiond/pkg/auth"
)

const jwksPassword = "s3cretpw"

// withPassword is u (http://host:port) with userinfo user:s3cretpw.
func withPassword(u string) string {
	return strings.Replace(u, "http://", "http://user:"+jwksPassword+"@", 1) + "/jwks.json"
}

// TestJWKSFetchErrorRedacted: a JWKS URL with a password that cannot be
// fetched fails NewVerifier with an error naming the URL without the
// password (keyfunc's own error quotes it whole), and the cause is kept.
func TestJWKSFetchErrorRedacted(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	closed := s.URL
	s.Close()
	for _, tc := range []struct{ name, url string }{
		{"closed port", withPassword(closed)},
		{"escaped password", strings.Replace(withPassword(closed), jwksPassword, jwksPassword+"%2F1", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := auth.NewVerifier(context.Background(), auth.Config{JWKSURL: tc.url})
			if err == nil {
				t.Fatal("NewVerifier: got nil error, want a failed fetch")
			}
			if strings.Contains(err.Error(), jwksPassword) {
				t.Errorf("error: got %q, want no password", err)
			}
			if !strings.Contains(err.Error(), "user:***@127.0.0.1") {
				t.Errorf("error: got %q, want the URL with its password masked", err)
			}
			if !errors.Is(err, jwkset.ErrNewClient) {
				t.Errorf("errors.Is(err, jwkset.ErrNewClient) = false, want the cause kept")
			}
		})
	}
}

// TestJWKSRefreshErrorRedacted: a refresh that fails after start (here on
// an unknown kid, with the provider down) is logged without the password;
// keyfunc's default handler logs the URL whole.
func TestJWKSRefreshErrorRedacted(t *testing.T) {
	logs := testproc.NewTail(1 << 20) // a buffer safe for concurrent writes
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(logs, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })

	keys, srv := newRSAJWKS(t)
	v := mustVerifier(t, auth.Config{JWKSURL: withPassword(srv.URL)})
	srv.Close()
	claims := with(claimsAt(time.Now()), "iss", nil, "aud", nil)
	if _, err := v.Verify(context.Background(), mustSign(t, jwt.SigningMethodRS256, keys.rsa1, "unknown", claims)); err == nil {
		t.Fatal("Verify with an unknown kid: got nil error, want one")
	}
	out := logs.String()
	if out == "" {
		t.Fatal("logs: got nothing, want the failed refresh")
	}
	if strings.Contains(out, jwksPassword) {
		t.Errorf("logs: got %q, want no password", out)
	}
	if !strings.Contains(out, "user:***@127.0.0.1") {
		t.Errorf("logs: got %q, want the URL with its password masked", out)
	}
}
