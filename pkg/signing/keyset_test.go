package signing_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/sessiond/sessiond/pkg/signing"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func mustKeySet(tb testing.TB, cur *signing.Key, prev []*signing.Key, until time.Time, c *clock) *signing.KeySet {
	tb.Helper()
	s, err := signing.NewKeySet(cur, prev, until, c.now)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func kidsOf(tb testing.TB, jwks []byte) []string {
	tb.Helper()
	var set signing.JWKSet
	if err := json.Unmarshal(jwks, &set); err != nil {
		tb.Fatalf("JWKS %s: %v", jwks, err)
	}
	kids := make([]string, 0, len(set.Keys))
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

// TestKeySetRotation: previous keys stay published until the overlap
// deadline and are dropped from it on; the current key is always first;
// duplicates are published once.
func TestKeySetRotation(t *testing.T) {
	k := mustRawKeys(t)
	cur, prev := mustKey(t, k.ec256), mustKey(t, k.rsa2048)
	start := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)
	until := start.Add(24 * time.Hour)
	c := &clock{start}
	s := mustKeySet(t, cur, []*signing.Key{prev, cur, prev}, until, c)
	tests := []struct {
		name string
		at   time.Time
		want []string
	}{
		{"at rotation", start, []string{cur.KID(), prev.KID()}},
		{"just before the deadline", until.Add(-time.Nanosecond), []string{cur.KID(), prev.KID()}},
		{"at the deadline", until, []string{cur.KID()}},
		{"long after", until.Add(30 * 24 * time.Hour), []string{cur.KID()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.t = tc.at
			if d := cmp.Diff(tc.want, kidsOf(t, s.JWKS())); d != "" {
				t.Errorf("published kids (-want +got):\n%s", d)
			}
		})
	}
	if s.Current() != cur {
		t.Error("Current is not the current key")
	}
}

func TestNewKeySetRefuses(t *testing.T) {
	k := mustRawKeys(t)
	cur := mustKey(t, k.ec256)
	tests := []struct {
		name string
		cur  *signing.Key
		prev []*signing.Key
	}{
		{"no current key", nil, nil},
		{"nil previous key", cur, []*signing.Key{nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := signing.NewKeySet(tc.cur, tc.prev, time.Time{}, nil); err == nil {
				t.Error("got no error")
			}
		})
	}
}

// TestJWKSPublicOnly: each published key has exactly the public members of
// its kind, use "sig", its alg and kid, and none of the private ones.
func TestJWKSPublicOnly(t *testing.T) {
	k := mustRawKeys(t)
	ec, rs := mustKey(t, k.ec256), mustKey(t, k.rsa2048)
	c := &clock{time.Unix(0, 0)}
	s := mustKeySet(t, ec, []*signing.Key{rs}, c.t.Add(time.Hour), c)
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(s.JWKS(), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"EC":  {"alg", "crv", "kid", "kty", "use", "x", "y"},
		"RSA": {"alg", "e", "kid", "kty", "n", "use"},
	}
	wantAlg := map[string]*signing.Key{"EC": ec, "RSA": rs}
	if len(doc.Keys) != 2 {
		t.Fatalf("got %d keys, want 2", len(doc.Keys))
	}
	for _, jwk := range doc.Keys {
		kty, _ := jwk["kty"].(string)
		members := make([]string, 0, len(jwk))
		for m := range jwk {
			members = append(members, m)
		}
		slices.Sort(members)
		if d := cmp.Diff(want[kty], members); d != "" {
			t.Errorf("%s members (-want +got):\n%s", kty, d)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
			if _, ok := jwk[private]; ok {
				t.Errorf("%s JWK carries private member %q", kty, private)
			}
		}
		key := wantAlg[kty]
		if jwk["use"] != "sig" || jwk["alg"] != key.Algorithm() || jwk["kid"] != key.KID() {
			t.Errorf("%s JWK: got use %v alg %v kid %v, want sig %s %s", kty, jwk["use"], jwk["alg"], jwk["kid"], key.Algorithm(), key.KID())
		}
		if kty == "EC" && jwk["crv"] != "P-256" {
			t.Errorf("crv: got %v, want P-256", jwk["crv"])
		}
	}
}

// TestJWKSVerifies: a token signed by the set verifies against the published
// JWKS parsed back by an independent JWK implementation (keyfunc/jwkset),
// for both key kinds; a token of a previous key verifies during the overlap
// and not after it.
func TestJWKSVerifies(t *testing.T) {
	k := mustRawKeys(t)
	ec, rs := mustKey(t, k.ec256), mustKey(t, k.rsa2048)
	start := time.Unix(1764069037, 0)
	c := &clock{start}
	until := start.Add(time.Hour)
	tests := []struct {
		name    string
		set     *signing.KeySet
		signer  *signing.Key
		at      time.Time
		wantErr bool
	}{
		{"ES256 current", mustKeySet(t, ec, []*signing.Key{rs}, until, c), ec, start, false},
		{"RS256 current", mustKeySet(t, rs, []*signing.Key{ec}, until, c), rs, start, false},
		{"previous key during overlap", mustKeySet(t, ec, []*signing.Key{rs}, until, c), rs, start, false},
		{"previous key after overlap", mustKeySet(t, ec, []*signing.Key{rs}, until, c), rs, until, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.t = tc.at
			kf, err := keyfunc.NewJWKSetJSON(json.RawMessage(tc.set.JWKS()))
			if err != nil {
				t.Fatal(err)
			}
			signed, err := tc.signer.Sign(jwt.MapClaims{"iss": "https://sessiond.test", "jti": "j1"}, "secevent+jwt")
			if err != nil {
				t.Fatal(err)
			}
			_, err = jwt.Parse(signed, kf.Keyfunc, jwt.WithValidMethods([]string{"ES256", "RS256"}))
			if gotErr := err != nil; gotErr != tc.wantErr {
				t.Errorf("verify: got error %v, want error %v", err, tc.wantErr)
			}
		})
	}

	t.Run("KeySet.Sign uses the current key", func(t *testing.T) {
		c.t = start
		s := mustKeySet(t, rs, []*signing.Key{ec}, until, c)
		signed, err := s.Sign(jwt.MapClaims{"iss": "x"}, "")
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := jwt.NewParser().ParseUnverified(signed, jwt.MapClaims{})
		if err != nil {
			t.Fatal(err)
		}
		if tok.Header["kid"] != rs.KID() || tok.Header["alg"] != "RS256" {
			t.Errorf("header: got kid %v alg %v, want %s RS256", tok.Header["kid"], tok.Header["alg"], rs.KID())
		}
	})
}

func TestHandler(t *testing.T) {
	k := mustRawKeys(t)
	c := &clock{time.Unix(0, 0)}
	s := mustKeySet(t, mustKey(t, k.ec256), nil, time.Time{}, c)
	tests := []struct {
		method     string
		wantStatus int
		wantBody   string
		wantHeader map[string]string
	}{
		{http.MethodGet, http.StatusOK, string(s.JWKS()), map[string]string{
			"Content-Type": "application/json", "Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}},
		{http.MethodHead, http.StatusOK, "", map[string]string{"Content-Type": "application/json"}},
		{http.MethodPost, http.StatusMethodNotAllowed, "method not allowed\n", map[string]string{"Allow": "GET, HEAD"}},
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+signing.JWKSPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body := new(bytes.Buffer)
			if _, err := body.ReadFrom(resp.Body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status: got %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if body.String() != tc.wantBody {
				t.Errorf("body: got %q, want %q", body.String(), tc.wantBody)
			}
			for h, want := range tc.wantHeader {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s: got %q, want %q", h, got, want)
				}
			}
		})
	}
}
