package secevent

import (
	"net/url"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

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

// LogoutToken signs LogoutClaims(r, now) with typ LogoutTokenType and
// returns the form body "logout_token=…" with FormContentType.
func LogoutToken(s Signer, r Revocation, now time.Time) (Message, error) {
	tok, jti, err := sign(s, LogoutClaims, r, now, LogoutTokenType)
	if err != nil {
		return Message{}, err
	}
	body := url.Values{"logout_token": {tok}}.Encode()
	return Message{ContentType: FormContentType, Body: []byte(body), JTI: jti}, nil
}
