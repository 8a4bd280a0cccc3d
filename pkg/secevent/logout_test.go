package secevent_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessiond/sessiond/pkg/secevent"
)

// TestLogoutToken: the logout token carries every claim OIDC Back-Channel
// Logout 1.0 requires (iss, aud, iat, exp, jti, events with the logout
// member mapped to {}, and sub and/or sid), no nonce, the typ logout+jwt,
// and travels as a form with one logout_token field.
func TestLogoutToken(t *testing.T) {
	key := mustGenerate(t)
	base := func(extra map[string]any) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": issuer, "aud": audience,
			"iat": float64(now.Unix()), "exp": float64(now.Add(2 * time.Minute).Unix()),
			"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
		}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	tests := []struct {
		name string
		r    secevent.Revocation
		want jwt.MapClaims // without jti
	}{
		{"session and user", full(), base(map[string]any{"sid": "s1", "sub": "u1"})},
		{"session only", with(full(), func(r *secevent.Revocation) { r.UserID = "" }), base(map[string]any{"sid": "s1"})},
		{"user only", with(full(), func(r *secevent.Revocation) { r.SessionID = "" }), base(map[string]any{"sub": "u1"})},
		{"no ids (random jti)", with(full(), func(r *secevent.Revocation) { r.EventID, r.ReceiverID = "", "" }), base(map[string]any{"sid": "s1", "sub": "u1"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := secevent.LogoutToken(key, tc.r, now)
			if err != nil {
				t.Fatal(err)
			}
			if msg.ContentType != "application/x-www-form-urlencoded" {
				t.Errorf("content type: got %q, want application/x-www-form-urlencoded", msg.ContentType)
			}
			form, err := url.ParseQuery(string(msg.Body))
			if err != nil {
				t.Fatal(err)
			}
			if len(form) != 1 || len(form["logout_token"]) != 1 {
				t.Fatalf("form: got %v, want exactly one logout_token", form)
			}
			checkToken(t, key, form.Get("logout_token"), "logout+jwt", msg.JTI, tc.want)
		})
	}
}
