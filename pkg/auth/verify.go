package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sessiond/sessiond/pkg/session"
)

// MaxTokenSize is the longest raw token Verify parses, in bytes. Longer ones
// are refused before any decoding so that they cost nothing.
const MaxTokenSize = 8 << 10

// DefaultLeeway is the clock skew allowed on exp, nbf and iat when
// Config.Leeway is zero.
const DefaultLeeway = 30 * time.Second

// ErrInvalidToken is wrapped by every error Verify returns. The wrapping
// message adds a short reason that is safe to log or show: it never contains
// the token.
var ErrInvalidToken = errors.New("invalid token")

// The reasons Verify gives. Built once so that a failed Verify allocates no
// error.
var (
	errTooLarge       = invalid("token too large")
	errMissing        = invalid("missing token")
	errMalformed      = invalid("malformed token")
	errAlgNotAllowed  = invalid("algorithm not allowed")
	errUnknownKey     = invalid("unknown signing key")
	errKeyMismatch    = invalid("signing key does not match algorithm")
	errSignature      = invalid("signature invalid")
	errMissingExp     = invalid("missing exp")
	errExpired        = invalid("token expired")
	errNotValidYet    = invalid("token not valid yet")
	errIssuedInFuture = invalid("token issued in the future")
	errIssuer         = invalid("wrong issuer")
	errAudience       = invalid("wrong audience")
	errClaims         = invalid("invalid claims")
	errSubject        = invalid("missing or invalid sub")
	errIdentityClaim  = invalid("invalid tenant_id, partner_id or sid")
)

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidToken, reason) }

// Config says which tokens a Verifier accepts. At least one of HS256Secret
// and JWKSURL must be set.
type Config struct {
	// HS256Secret enables HS256 when non-empty. RFC 7518 asks for at least 32
	// random bytes.
	HS256Secret []byte
	// JWKSURL enables RS256 and ES256 when non-empty. The set is fetched at
	// start, refetched hourly and when a token names an unknown kid (rate
	// limited).
	JWKSURL string
	// Issuer and Audience are required in every token when non-empty.
	Issuer   string
	Audience string
	// Leeway is the clock skew allowed on exp, nbf and iat; DefaultLeeway
	// when zero.
	Leeway time.Duration
	// HTTPClient fetches the JWKS; http.DefaultClient when nil.
	HTTPClient *http.Client
}

// Verifier checks bearer tokens. It is safe for concurrent use; Close it to
// stop the background JWKS refresh.
type Verifier struct {
	parser *jwt.Parser
	// secret is the HS256 key, boxed once: returning a []byte as any from the
	// key func would allocate on every Verify.
	secret  any
	jwks    keyfunc.Keyfunc
	cancel  context.CancelFunc
	allowed []string
	issuer  string
	// cache holds verified tokens until their exp.
	cache *sigCache
}

// NewVerifier builds a Verifier from c. It fails when no algorithm is
// enabled or when the JWKS cannot be fetched; ctx bounds that first fetch
// only, the refresh goroutine runs until Close.
func NewVerifier(ctx context.Context, c Config) (*Verifier, error) {
	if len(c.HS256Secret) == 0 && c.JWKSURL == "" {
		return nil, errors.New("auth: neither an HS256 secret nor a JWKS URL is configured")
	}
	if c.Leeway < 0 {
		return nil, fmt.Errorf("auth: negative leeway %s", c.Leeway)
	}
	leeway := c.Leeway
	if leeway == 0 {
		leeway = DefaultLeeway
	}
	v := &Verifier{issuer: c.Issuer, cancel: func() {}, cache: newSigCache()}
	if len(c.HS256Secret) > 0 {
		v.secret = append([]byte(nil), c.HS256Secret...)
		v.allowed = append(v.allowed, jwt.SigningMethodHS256.Alg())
	}
	if c.JWKSURL != "" {
		kf, cancel, err := newJWKS(ctx, c)
		if err != nil {
			return nil, err
		}
		v.jwks, v.cancel = kf, cancel
		v.allowed = append(v.allowed, jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg())
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(v.allowed),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithStrictDecoding(),
	}
	if c.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(c.Issuer))
	}
	if c.Audience != "" {
		opts = append(opts, jwt.WithAudience(c.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// Close stops the JWKS refresh goroutine, if any. Verify keeps working with
// the keys already fetched. Close may be called more than once.
func (v *Verifier) Close() { v.cancel() }

// claims are the claims Verify reads. String claims of another JSON type fail
// decoding, which makes the token malformed.
type claims struct {
	jwt.RegisteredClaims
	TenantID  idClaim    `json:"tenant_id"`
	PartnerID idClaim    `json:"partner_id"`
	Role      string     `json:"role"`
	Scope     scopeClaim `json:"scope"`
	Platform  bool       `json:"platform_token"`
	SessionID idClaim    `json:"sid"`
	TokenType string     `json:"token_type"`
}

// idClaim is an identity claim (tenant_id, partner_id, sid) that remembers
// whether the token carried it: a present claim must be a valid id, never
// silently read as absent.
type idClaim struct {
	v   string
	set bool
}

// UnmarshalJSON accepts a JSON string and records the claim as present;
// null is present too (and no valid id). Another type makes the token
// malformed.
func (c *idClaim) UnmarshalJSON(b []byte) error {
	c.set = true
	if string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, &c.v)
}

// valid reports whether the claim is absent or a valid id.
func (c idClaim) valid(ok func(string) bool) bool { return !c.set || ok(c.v) }

// checkIdentity fails closed on identity claims: every token names its
// subject (so every revocation names its actor), and a tenant_id,
// partner_id or sid it carries is a valid id, else the token is refused
// rather than read as if the claim were absent.
func checkIdentity(c *claims) error {
	if c.Subject == "" || len(c.Subject) > session.MaxUserIDLen || strings.TrimSpace(c.Subject) != c.Subject {
		return errSubject
	}
	if !c.TenantID.valid(session.ValidTenantID) || !c.PartnerID.valid(session.ValidTenantID) || !c.SessionID.valid(session.ValidID) {
		return errIdentityClaim
	}
	return nil
}

// Verify checks raw (the token without its "Bearer " prefix) and returns the
// caller it proves. Every error wraps ErrInvalidToken. ctx bounds a JWKS
// refetch caused by an unknown kid.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	if len(raw) > MaxTokenSize {
		return Principal{}, errTooLarge
	}
	if raw == "" {
		return Principal{}, errMissing
	}
	key := tokenKey(raw)
	if p, ok := v.cache.get(key, time.Now()); ok {
		return p, nil
	}
	var c claims
	tok, err := v.parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) { return v.key(ctx, t) })
	if err != nil {
		return Principal{}, v.reason(tok, &c, err)
	}
	if err := checkIdentity(&c); err != nil {
		return Principal{}, err
	}
	p := Principal{
		Subject:   c.Subject,
		TenantID:  c.TenantID.v,
		PartnerID: c.PartnerID.v,
		SessionID: c.SessionID.v,
		Role:      c.Role,
		TokenType: c.TokenType,
		Platform:  c.Platform,
	}
	if len(c.Scope) > 0 {
		p.Scopes = c.Scope
	}
	if c.ExpiresAt != nil {
		p.ExpiresAt = c.ExpiresAt.Time
	}
	v.cache.put(key, p, time.Now())
	return p, nil
}

// key picks the verification key by the token's alg, and only among the
// algorithms enabled: the HS256 secret for HS256, a JWKS key of the matching
// type for RS256 and ES256. Checking the type here, and not only in the
// signing method, is what stops a public key from ever serving as an HMAC
// secret.
func (v *Verifier) key(ctx context.Context, t *jwt.Token) (any, error) {
	switch alg := t.Method.Alg(); alg {
	case "HS256":
		if v.secret == nil {
			return nil, errAlgNotAllowed
		}
		return v.secret, nil
	case "RS256", "ES256":
		if v.jwks == nil {
			return nil, errAlgNotAllowed
		}
		return v.jwksKey(ctx, t, alg)
	default:
		return nil, errAlgNotAllowed
	}
}

// reason turns a parse error into one of the fixed, token-free errors.
func (v *Verifier) reason(tok *jwt.Token, c *claims, err error) error {
	switch {
	case tok == nil || errors.Is(err, jwt.ErrTokenMalformed), errors.Is(err, errMalformed):
		return errMalformed
	case tok.Method == nil || !slices.Contains(v.allowed, tok.Method.Alg()) || errors.Is(err, errAlgNotAllowed):
		return errAlgNotAllowed
	case errors.Is(err, errUnknownKey):
		return errUnknownKey
	case errors.Is(err, errKeyMismatch):
		return errKeyMismatch
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return errSignature
	case !errors.Is(err, jwt.ErrTokenInvalidClaims):
		return ErrInvalidToken
	case c.ExpiresAt == nil:
		return errMissingExp
	case errors.Is(err, jwt.ErrTokenExpired):
		return errExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return errNotValidYet
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return errIssuedInFuture
	case v.issuer != "" && c.Issuer != v.issuer:
		return errIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience), errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return errAudience
	default:
		return errClaims
	}
}

// scopeClaim is the scope claim: a space separated string (RFC 8693), or a
// JSON array of strings as some providers send it.
type scopeClaim []string

// UnmarshalJSON accepts a string or an array of strings; anything else makes
// the token malformed.
func (s *scopeClaim) UnmarshalJSON(b []byte) error {
	if len(b) >= 2 && b[0] == '"' {
		// encoding/json has validated b already: without escapes its content
		// is the string itself, so skip a second decode on the hot path.
		if !bytes.ContainsRune(b, '\\') {
			*s = strings.Fields(string(b[1 : len(b)-1]))
			return nil
		}
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		*s = strings.Fields(str)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*s = list
	return nil
}
