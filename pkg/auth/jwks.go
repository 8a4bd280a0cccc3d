package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/sessiond/sessiond/pkg/config"
)

// JWKS refresh policy. An unknown kid triggers at most one refetch per
// jwksUnknownKIDEvery, so that tokens with made-up kids cannot hammer the
// identity provider; a Verify that would have to wait longer than
// jwksWaitMax for its turn fails at once instead of stalling the request.
const (
	jwksRefreshInterval = time.Hour
	jwksUnknownKIDEvery = time.Minute
	jwksWaitMax         = 5 * time.Second
	jwksHTTPTimeout     = 10 * time.Second
)

// newJWKS starts the JWKS client. Its refresh goroutine must outlive ctx, so
// it gets its own context; ctx is only tied to it while the first fetch runs.
func newJWKS(ctx context.Context, c Config) (keyfunc.Keyfunc, context.CancelFunc, error) {
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	noErrorFirst := false
	redact := config.URLRedactor(c.JWKSURL)
	kf, err := keyfunc.NewDefaultOverrideCtx(bg, []string{c.JWKSURL}, keyfunc.Override{
		Client:                    c.HTTPClient,
		HTTPTimeout:               jwksHTTPTimeout,
		NoErrorReturnFirstHTTPReq: &noErrorFirst,
		RateLimitWaitMax:          jwksWaitMax,
		RefreshInterval:           jwksRefreshInterval,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(jwksUnknownKIDEvery), 1),
		// keyfunc's own handler logs the URL with its password.
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				slog.Default().WarnContext(ctx, "auth: JWKS refresh failed; the keys fetched before stay in use",
					"url", config.RedactURL(u), "error", redact.Redact(err.Error()))
			}
		},
	})
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		cancel()
		return nil, nil, jwksError{
			msg: fmt.Sprintf("auth: fetch JWKS %s: %s", config.RedactURL(c.JWKSURL), redact.Redact(err.Error())),
			err: err,
		}
	}
	return kf, cancel, nil
}

// jwksError is a failed JWKS fetch whose text has the URL's password
// masked: keyfunc quotes the URL whole. errors.Is and As see the cause.
type jwksError struct {
	msg string
	err error
}

func (e jwksError) Error() string { return e.msg }
func (e jwksError) Unwrap() error { return e.err }

// jwksKey finds the JWKS key for a token: by kid when the token names one
// (the storage refetches the set, rate limited, when the kid is unknown),
// otherwise every key that fits the algorithm.
func (v *Verifier) jwksKey(ctx context.Context, t *jwt.Token, alg string) (any, error) {
	store := v.jwks.Storage()
	kidValue, hasKID := t.Header["kid"]
	if !hasKID {
		all, err := store.KeyReadAll(ctx)
		if err != nil {
			return nil, errUnknownKey
		}
		var set jwt.VerificationKeySet
		for _, j := range all {
			if k, ok := jwkFor(j, alg); ok {
				set.Keys = append(set.Keys, k)
			}
		}
		if len(set.Keys) == 0 {
			return nil, errUnknownKey
		}
		return set, nil
	}
	kid, ok := kidValue.(string)
	if !ok {
		return nil, errMalformed
	}
	j, err := store.KeyRead(ctx, kid)
	if err != nil {
		return nil, errUnknownKey
	}
	k, ok := jwkFor(j, alg)
	if !ok {
		return nil, errKeyMismatch
	}
	return k, nil
}

// jwkFor returns the public key of j when j may verify alg: a signing key
// whose declared alg, if any, is alg, of the key type alg needs.
func jwkFor(j jwkset.JWK, alg string) (any, bool) {
	m := j.Marshal()
	if m.ALG != "" && m.ALG.String() != alg || m.USE != "" && m.USE != jwkset.UseSig {
		return nil, false
	}
	k := j.Key()
	if pk, ok := k.(interface{ Public() crypto.PublicKey }); ok {
		k = pk.Public()
	}
	switch alg {
	case "RS256":
		_, ok := k.(*rsa.PublicKey)
		return k, ok
	case "ES256":
		ec, ok := k.(*ecdsa.PublicKey)
		return k, ok && ec.Curve == elliptic.P256()
	}
	return nil, false
}
