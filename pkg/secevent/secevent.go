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
	"net/url"
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

// LogoutClaims returns the claims of the logout token for r issued at now:
// iss, aud, iat, exp (now + LogoutTokenTTL), jti, events with
// BackchannelLogoutEvent mapped to {}, sid and sub. It never sets nonce,
// which the spec prohibits. The spec requires sub or sid: r needs Issuer,
// Audience and SessionID or UserID.
func LogoutClaims(r Revocation, now time.Time) (jwt.MapClaims, error) {
	jti, err := r.checkedJTI("logout token", "logout")
	if err != nil {
		return nil, err
	}
	c := jwt.MapClaims{
		"iss":    r.Issuer,
		"aud":    r.Audience,
		"iat":    now.Unix(),
		"exp":    now.Add(LogoutTokenTTL).Unix(),
		"jti":    jti,
		"events": map[string]any{BackchannelLogoutEvent: map[string]any{}},
	}
	setIf(c, "sid", r.SessionID)
	setIf(c, "sub", r.UserID)
	return c, nil
}

// SessionRevokedClaims returns the claims of the CAEP session-revoked SET
// for r issued at now: iss, aud, iat, jti, txn (EventID, when set), sub_id
// (a "complex" subject: session "opaque", user "iss_sub" with Issuer,
// tenant "opaque"; members whose id is empty are left out) and events with
// SessionRevokedEvent mapped to its event object: the same subject (for
// receivers of the CAEP drafts, which read it there), event_timestamp,
// initiating_entity and reason_admin. As the Shared Signals Framework
// requires, there is no sub and no exp. r needs Issuer, Audience and
// SessionID or UserID.
func SessionRevokedClaims(r Revocation, now time.Time) (jwt.MapClaims, error) {
	jti, err := r.checkedJTI("session-revoked SET", "caep")
	if err != nil {
		return nil, err
	}
	subject := map[string]any{"format": "complex"}
	if r.SessionID != "" {
		subject["session"] = map[string]any{"format": "opaque", "id": r.SessionID}
	}
	if r.UserID != "" {
		subject["user"] = map[string]any{"format": "iss_sub", "iss": r.Issuer, "sub": r.UserID}
	}
	if r.TenantID != "" {
		subject["tenant"] = map[string]any{"format": "opaque", "id": r.TenantID}
	}
	event := map[string]any{"subject": subject}
	if !r.RevokedAt.IsZero() {
		event["event_timestamp"] = r.RevokedAt.Unix()
	}
	setIf(event, "initiating_entity", initiatingEntity[r.Reason])
	if r.Reason != "" {
		event["reason_admin"] = map[string]any{"en": r.Reason}
	}
	c := jwt.MapClaims{
		"iss":    r.Issuer,
		"aud":    r.Audience,
		"iat":    now.Unix(),
		"jti":    jti,
		"sub_id": subject,
		"events": map[string]any{SessionRevokedEvent: event},
	}
	setIf(c, "txn", r.EventID)
	return c, nil
}

// LogoutToken signs LogoutClaims(r, now) with typ LogoutTokenType and
// returns the form body "logout_token=…" with FormContentType.
func LogoutToken(s Signer, r Revocation, now time.Time) (Message, error) {
	m, err := sign(s, LogoutClaims, r, now, LogoutTokenType)
	m.ContentType, m.Body = FormContentType, []byte(url.Values{"logout_token": {string(m.Body)}}.Encode())
	return m, err
}

// SessionRevoked signs SessionRevokedClaims(r, now) with typ SETType and
// returns the token itself as the body, with SETContentType.
func SessionRevoked(s Signer, r Revocation, now time.Time) (Message, error) {
	m, err := sign(s, SessionRevokedClaims, r, now, SETType)
	m.ContentType = SETContentType
	return m, err
}

// sign builds claims for r and signs them with typ; the Message's Body is
// the bare token, its JTI the token's.
func sign(s Signer, claims func(Revocation, time.Time) (jwt.MapClaims, error), r Revocation, now time.Time, typ string) (Message, error) {
	c, err := claims(r, now)
	if err != nil {
		return Message{}, err
	}
	tok, err := s.Sign(c, typ)
	if err != nil {
		return Message{}, fmt.Errorf("secevent: sign %s: %w", typ, err)
	}
	return Message{Body: []byte(tok), JTI: c["jti"].(string)}, nil
}

// initiatingEntity maps sessiond's revocation reasons to CAEP's
// initiating_entity.
var initiatingEntity = map[string]string{
	"user_revoke":        "user",
	"user_revoke_others": "user",
	"admin_revoke":       "admin",
	"admin_revoke_all":   "admin",
	"user_revoke_admin":  "admin",
	"tenant_revoke":      "admin",
	"tenant_revoke_all":  "admin",
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
