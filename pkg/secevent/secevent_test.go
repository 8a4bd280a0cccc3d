package secevent_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
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

// Both signing types sign secevent's tokens.
var (
	_ secevent.Signer = (*signing.Key)(nil)
	_ secevent.Signer = (*signing.KeySet)(nil)
)

// checkToken verifies tok's signature as a receiver would, through the JWKS
// that publishes key; checks its header (alg, kid, typ), that its jti is
// set and is the Message's, and that its other claims are want (numbers
// decoded as float64).
func checkToken(tb testing.TB, key *signing.Key, tok, typ, msgJTI string, want jwt.MapClaims) {
	tb.Helper()
	ks, err := signing.NewKeySet(key, nil, time.Time{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	kf, err := keyfunc.NewJWKSetJSON(json.RawMessage(ks.JWKS()))
	if err != nil {
		tb.Fatal(err)
	}
	claims := jwt.MapClaims{}
	t, err := jwt.ParseWithClaims(tok, claims, kf.Keyfunc,
		jwt.WithValidMethods([]string{key.Algorithm()}), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		tb.Fatalf("verify: %v", err)
	}
	if t.Header["typ"] != typ || t.Header["kid"] != key.KID() || t.Header["alg"] != key.Algorithm() {
		tb.Errorf("header: got %v, want typ %s, kid %s, alg %s", t.Header, typ, key.KID(), key.Algorithm())
	}
	jti, _ := claims["jti"].(string)
	if jti == "" || jti != msgJTI {
		tb.Errorf("jti: got %q in the token and %q in the message, want both equal and set", jti, msgJTI)
	}
	delete(claims, "jti")
	if d := cmp.Diff(want, claims); d != "" {
		tb.Errorf("claims (-want +got):\n%s", d)
	}
}

func with(r secevent.Revocation, edit func(*secevent.Revocation)) secevent.Revocation {
	edit(&r)
	return r
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
