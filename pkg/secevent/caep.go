package secevent

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

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

// SessionRevoked signs SessionRevokedClaims(r, now) with typ SETType and
// returns the token itself as the body, with SETContentType.
func SessionRevoked(s Signer, r Revocation, now time.Time) (Message, error) {
	tok, jti, err := sign(s, SessionRevokedClaims, r, now, SETType)
	if err != nil {
		return Message{}, err
	}
	return Message{ContentType: SETContentType, Body: []byte(tok), JTI: jti}, nil
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
