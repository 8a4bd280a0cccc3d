// Package secevent builds the two tokens sessiond pushes to relying parties
// when it revokes a session, from a Revocation that knows nothing of Redis
// or HTTP:
//
//   - an OpenID Connect Back-Channel Logout 1.0 logout token (header typ
//     "logout+jwt"), POSTed as an application/x-www-form-urlencoded form
//     "logout_token=…";
//   - a CAEP 1.0 session-revoked Security Event Token (RFC 8417, profiled by
//     the Shared Signals Framework 1.0; header typ "secevent+jwt"), POSTed as
//     the body of an application/secevent+jwt request (RFC 8935).
//
// The builders are pure: the claims depend only on their input and the time
// given. Signing is left to a Signer (pkg/signing's Key and KeySet).
//
// # jti and redelivery
//
// Delivery is at least once, so the same revocation may reach the same
// receiver more than once. When the Revocation carries both EventID and
// ReceiverID, the jti is derived from them (and the token type): every
// redelivery of that event to that receiver carries the same jti, and a
// receiver can drop the duplicate. Other receivers, and other events, get
// other jtis. iat (and the logout token's exp) are those of the attempt, so
// a redelivered logout token is fresh. Without both ids the jti is random.
//
// # initiating_entity
//
// The CAEP event carries initiating_entity mapped from sessiond's revocation
// reason: "user" for user_revoke and user_revoke_others (the user revoked
// their own sessions), "admin" for admin_revoke, admin_revoke_all,
// user_revoke_admin, tenant_revoke and tenant_revoke_all. Other reasons leave
// it out. reason_admin is {"en": reason}.
package secevent

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Event type URIs, JOSE typ values and media types of the two tokens.
const (
	// BackchannelLogoutEvent is the events member that makes a JWT a logout
	// token (OIDC Back-Channel Logout 1.0, section 2.4).
	BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"
	// SessionRevokedEvent is the CAEP session-revoked event type.
	SessionRevokedEvent = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	// LogoutTokenType is the typ header of a logout token.
	LogoutTokenType = "logout+jwt"
	// SETType is the typ header of a Security Event Token (RFC 8417 2.3).
	SETType = "secevent+jwt"
	// FormContentType is the media type of a back-channel logout request.
	FormContentType = "application/x-www-form-urlencoded"
	// SETContentType is the media type of a pushed SET (RFC 8935).
	SETContentType = "application/secevent+jwt"
)

// LogoutTokenTTL is exp - iat of a logout token. The spec recommends a short
// lifetime (about two minutes): a logout token is consumed on arrival, and
// a redelivery mints a new one.
const LogoutTokenTTL = 2 * time.Minute

// ErrIncomplete is wrapped by the builders' errors when the Revocation lacks
// what the token requires; the message names what is missing.
var ErrIncomplete = errors.New("secevent: incomplete revocation")

// Revocation is one revoked session as one receiver is told of it.
type Revocation struct {
	// Issuer is sessiond's issuer identifier: iss, and the iss of the
	// CAEP user subject. Required.
	Issuer string
	// Audience is the receiver's client id: aud. Required.
	Audience string
	// TenantID is the session's tenant (the CAEP tenant subject). Optional.
	TenantID string
	// SessionID is the revoked session: sid, the CAEP session subject.
	SessionID string
	// UserID is the session's user: sub, the CAEP user subject.
	UserID string
	// Reason is sessiond's revocation reason (docs/events.md), e.g.
	// "admin_revoke": reason_admin and initiating_entity. Optional.
	Reason string
	// RevokedAt is when sessiond revoked the session: event_timestamp
	// (left out when zero).
	RevokedAt time.Time
	// EventID identifies the revocation event (the stream id): the SET's
	// txn, and with ReceiverID the jti (see the package comment).
	EventID string
	// ReceiverID identifies the receiver; with EventID it fixes the jti.
	ReceiverID string
}

// Signer signs claims with the typ header given. *signing.Key and
// *signing.KeySet implement it.
type Signer interface {
	Sign(claims jwt.Claims, typ string) (string, error)
}

// Message is a signed token ready to POST.
type Message struct {
	// ContentType is the request's Content-Type.
	ContentType string
	// Body is the request body.
	Body []byte
	// JTI is the token's jti, for deduplication and logs.
	JTI string
}

// sign builds the claims for r and signs them with typ.
func sign(s Signer, claims func(Revocation, time.Time) (jwt.MapClaims, error), r Revocation, now time.Time, typ string) (tok, jti string, err error) {
	c, err := claims(r, now)
	if err != nil {
		return "", "", err
	}
	if tok, err = s.Sign(c, typ); err != nil {
		return "", "", fmt.Errorf("secevent: sign %s: %w", typ, err)
	}
	return tok, c["jti"].(string), nil
}

// checkedJTI checks that r has what every token needs (issuer, audience,
// and a session or a user) and returns the jti of a token of kind.
func (r Revocation) checkedJTI(what, kind string) (string, error) {
	switch {
	case r.Issuer == "":
		return "", fmt.Errorf("%w: %s needs an issuer", ErrIncomplete, what)
	case r.Audience == "":
		return "", fmt.Errorf("%w: %s needs an audience", ErrIncomplete, what)
	case r.SessionID == "" && r.UserID == "":
		return "", fmt.Errorf("%w: %s needs a session id or a user id", ErrIncomplete, what)
	}
	return r.jti(kind)
}

// jti returns the deterministic jti of (kind, EventID, ReceiverID) when both
// ids are set, else a random one. Both are 128 bits, base64url. The hash
// input length-prefixes each part, so no two different triples collide by
// concatenation.
func (r Revocation) jti(kind string) (string, error) {
	var b [16]byte
	if r.EventID == "" || r.ReceiverID == "" {
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("secevent: random jti: %w", err)
		}
		return base64.RawURLEncoding.EncodeToString(b[:]), nil
	}
	h := sha256.New()
	for _, part := range []string{"sessiond-jti-v1", kind, r.EventID, r.ReceiverID} {
		_ = binary.Write(h, binary.BigEndian, uint64(len(part)))
		h.Write([]byte(part))
	}
	copy(b[:], h.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func setIf(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}
