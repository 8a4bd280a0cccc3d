package secevent_test

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessiond/sessiond/pkg/secevent"
)

// TestSessionRevoked: the SET carries what RFC 8417, the SSF 1.0 profile
// and CAEP 1.0 require: iss, iat, jti, aud, txn, a complex sub_id with the
// session, the user and the tenant, one session-revoked event with
// event_timestamp, initiating_entity and reason_admin, and no sub or exp;
// typ secevent+jwt; the body is the token, as application/secevent+jwt.
func TestSessionRevoked(t *testing.T) {
	key := mustGenerate(t)
	subject := func(drop ...string) map[string]any {
		s := map[string]any{
			"format":  "complex",
			"session": map[string]any{"format": "opaque", "id": "s1"},
			"user":    map[string]any{"format": "iss_sub", "iss": issuer, "sub": "u1"},
			"tenant":  map[string]any{"format": "opaque", "id": "t1"},
		}
		for _, d := range drop {
			delete(s, d)
		}
		return s
	}
	claims := func(sub map[string]any, event map[string]any, txn bool) jwt.MapClaims {
		event["subject"] = sub
		c := jwt.MapClaims{
			"iss": issuer, "aud": audience, "iat": float64(now.Unix()),
			"sub_id": sub,
			"events": map[string]any{"https://schemas.openid.net/secevent/caep/event-type/session-revoked": event},
		}
		if txn {
			c["txn"] = "1764069037928-0"
		}
		return c
	}
	ts := float64(revokedAt.Unix())
	tests := []struct {
		name string
		r    secevent.Revocation
		want jwt.MapClaims // without jti
	}{
		{"admin revoke", full(), claims(subject(), map[string]any{
			"event_timestamp": ts, "initiating_entity": "admin", "reason_admin": map[string]any{"en": "admin_revoke"}}, true)},
		{"user revoke", with(full(), func(r *secevent.Revocation) { r.Reason = "user_revoke_others" }), claims(subject(), map[string]any{
			"event_timestamp": ts, "initiating_entity": "user", "reason_admin": map[string]any{"en": "user_revoke_others"}}, true)},
		{"unknown reason: no initiating_entity", with(full(), func(r *secevent.Revocation) { r.Reason = "session_limit" }), claims(subject(), map[string]any{
			"event_timestamp": ts, "reason_admin": map[string]any{"en": "session_limit"}}, true)},
		{"no reason", with(full(), func(r *secevent.Revocation) { r.Reason = "" }), claims(subject(), map[string]any{
			"event_timestamp": ts}, true)},
		{"no tenant, no time, no event id", with(full(), func(r *secevent.Revocation) { r.TenantID, r.RevokedAt, r.EventID = "", time.Time{}, "" }),
			claims(subject("tenant"), map[string]any{"initiating_entity": "admin", "reason_admin": map[string]any{"en": "admin_revoke"}}, false)},
		{"session only", with(full(), func(r *secevent.Revocation) { r.UserID = "" }), claims(subject("user"), map[string]any{
			"event_timestamp": ts, "initiating_entity": "admin", "reason_admin": map[string]any{"en": "admin_revoke"}}, true)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := secevent.SessionRevoked(key, tc.r, now)
			if err != nil {
				t.Fatal(err)
			}
			if msg.ContentType != "application/secevent+jwt" {
				t.Errorf("content type: got %q, want application/secevent+jwt", msg.ContentType)
			}
			checkToken(t, key, string(msg.Body), "secevent+jwt", msg.JTI, tc.want)
		})
	}
}
