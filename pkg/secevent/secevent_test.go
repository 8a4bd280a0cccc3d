package secevent_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/secevent"
	"github.com/sessiond/sessiond/pkg/signing"
)

const (
	issuer   = "https://sessiond.example.com"
	audience = "rp-client-1"
)

var (
	now       = time.Date(2025, 11, 25, 11, 10, 40, 0, time.UTC)
	revokedAt = time.Date(2025, 11, 25, 11, 10, 37, 927e6, time.UTC)
)

func full() secevent.Revocation {
	return secevent.Revocation{
		Issuer: issuer, Audience: audience,
		TenantID: "t1", SessionID: "s1", UserID: "u1",
		Reason: "admin_revoke", RevokedAt: revokedAt,
		EventID: "1764069037928-0", ReceiverID: "rcv-1",
	}
}

func mustGenerate(tb testing.TB) *signing.Key {
	tb.Helper()
	k, err := signing.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// mustVerify checks tok's signature with key and returns its header and
// claims as a receiver decodes them (numbers are float64).
func mustVerify(tb testing.TB, key *signing.Key, tok string) (map[string]any, jwt.MapClaims) {
	tb.Helper()
	claims := jwt.MapClaims{}
	t, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return key.Public(), nil },
		jwt.WithValidMethods([]string{key.Algorithm()}), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		tb.Fatalf("verify: %v", err)
	}
	return t.Header, claims
}

func with(r secevent.Revocation, edit func(*secevent.Revocation)) secevent.Revocation {
	edit(&r)
	return r
}

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
			header, claims := mustVerify(t, key, form.Get("logout_token"))
			if header["typ"] != "logout+jwt" || header["kid"] != key.KID() || header["alg"] != "ES256" {
				t.Errorf("header: got %v, want typ logout+jwt, kid %s, alg ES256", header, key.KID())
			}
			jti, _ := claims["jti"].(string)
			if jti == "" || jti != msg.JTI {
				t.Errorf("jti: got %q in the token and %q in the message, want both equal and set", jti, msg.JTI)
			}
			delete(claims, "jti")
			if d := cmp.Diff(tc.want, claims); d != "" {
				t.Errorf("claims (-want +got):\n%s", d)
			}
		})
	}
}

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
			header, got := mustVerify(t, key, string(msg.Body))
			if header["typ"] != "secevent+jwt" || header["kid"] != key.KID() {
				t.Errorf("header: got %v, want typ secevent+jwt and kid %s", header, key.KID())
			}
			jti, _ := got["jti"].(string)
			if jti == "" || jti != msg.JTI {
				t.Errorf("jti: got %q in the token and %q in the message, want both equal and set", jti, msg.JTI)
			}
			delete(got, "jti")
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("claims (-want +got):\n%s", d)
			}
		})
	}
}

// TestIncomplete: each builder refuses a revocation without issuer,
// audience, or both session and user, naming what is missing.
func TestIncomplete(t *testing.T) {
	builders := map[string]func(secevent.Revocation, time.Time) (jwt.MapClaims, error){
		"logout": secevent.LogoutClaims,
		"caep":   secevent.SessionRevokedClaims,
	}
	tests := []struct {
		name    string
		r       secevent.Revocation
		wantMsg string
	}{
		{"no issuer", with(full(), func(r *secevent.Revocation) { r.Issuer = "" }), "issuer"},
		{"no audience", with(full(), func(r *secevent.Revocation) { r.Audience = "" }), "audience"},
		{"no session, no user", with(full(), func(r *secevent.Revocation) { r.SessionID, r.UserID = "", "" }), "session id or a user id"},
	}
	for kind, build := range builders {
		for _, tc := range tests {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				_, err := build(tc.r, now)
				if !errors.Is(err, secevent.ErrIncomplete) || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Errorf("got %v, want ErrIncomplete mentioning %q", err, tc.wantMsg)
				}
			})
		}
	}
}

// TestJTI: a redelivery of the same event to the same receiver carries the
// same jti, whenever it is built; any other event, receiver or token type
// gets another; without both ids every token gets a fresh random jti.
func TestJTI(t *testing.T) {
	jti := func(build func(secevent.Revocation, time.Time) (jwt.MapClaims, error), r secevent.Revocation, at time.Time) string {
		t.Helper()
		c, err := build(r, at)
		if err != nil {
			t.Fatal(err)
		}
		return c["jti"].(string)
	}
	r := full()
	later := now.Add(time.Hour)
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"logout redelivered later", jti(secevent.LogoutClaims, r, now), jti(secevent.LogoutClaims, r, later), true},
		{"caep redelivered later", jti(secevent.SessionRevokedClaims, r, now), jti(secevent.SessionRevokedClaims, r, later), true},
		{"other receiver", jti(secevent.LogoutClaims, r, now),
			jti(secevent.LogoutClaims, with(r, func(r *secevent.Revocation) { r.ReceiverID = "rcv-2" }), now), false},
		{"other event", jti(secevent.LogoutClaims, r, now),
			jti(secevent.LogoutClaims, with(r, func(r *secevent.Revocation) { r.EventID = "1764069037928-1" }), now), false},
		{"other token type", jti(secevent.LogoutClaims, r, now), jti(secevent.SessionRevokedClaims, r, now), false},
		{"ids shifted across the boundary", jti(secevent.LogoutClaims, with(r, func(r *secevent.Revocation) { r.EventID, r.ReceiverID = "1-0", "abc" }), now),
			jti(secevent.LogoutClaims, with(r, func(r *secevent.Revocation) { r.EventID, r.ReceiverID = "1-0a", "bc" }), now), false},
		{"no receiver id: random", jti(secevent.LogoutClaims, with(r, func(r *secevent.Revocation) { r.ReceiverID = "" }), now),
			jti(secevent.LogoutClaims, with(r, func(r *secevent.Revocation) { r.ReceiverID = "" }), now), false},
		{"no event id: random", jti(secevent.SessionRevokedClaims, with(r, func(r *secevent.Revocation) { r.EventID = "" }), now),
			jti(secevent.SessionRevokedClaims, with(r, func(r *secevent.Revocation) { r.EventID = "" }), now), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if (tc.a == tc.b) != tc.same {
				t.Errorf("jtis %q and %q: got same=%v, want %v", tc.a, tc.b, tc.a == tc.b, tc.same)
			}
			for _, j := range []string{tc.a, tc.b} {
				if len(j) != 22 || strings.ContainsAny(j, "+/=") {
					t.Errorf("jti %q: want 22 base64url characters (128 bits)", j)
				}
			}
		})
	}
}

type failingSigner struct{}

func (failingSigner) Sign(jwt.Claims, string) (string, error) { return "", errors.New("hsm offline") }

func TestSignerError(t *testing.T) {
	builders := map[string]func(secevent.Signer, secevent.Revocation, time.Time) (secevent.Message, error){
		"logout": secevent.LogoutToken,
		"caep":   secevent.SessionRevoked,
	}
	for name, build := range builders {
		t.Run(name, func(t *testing.T) {
			if _, err := build(failingSigner{}, full(), now); err == nil || !strings.Contains(err.Error(), "hsm offline") {
				t.Errorf("got %v, want the signer's error", err)
			}
			if _, err := build(failingSigner{}, secevent.Revocation{}, now); !errors.Is(err, secevent.ErrIncomplete) {
				t.Errorf("incomplete: got %v, want ErrIncomplete before signing", err)
			}
		})
	}
}
