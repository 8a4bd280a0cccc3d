package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/auth"
)

// FuzzVerify (verify_test.go) checks that Verify never panics and that its
// errors wrap ErrInvalidToken; its seeds live in testdata/fuzz/FuzzVerify.
// The targets here check what Verify accepts.

// FuzzVerifyAccepts feeds Verify arbitrary strings: every token it accepts
// must be signed with the secret (HS256 only, never none, never another
// HMAC), carry a future exp, and be answered the same way twice (the second
// time from the cache).
func FuzzVerifyAccepts(f *testing.F) {
	now := time.Now()
	f.Add(mustSign(f, jwt.SigningMethodHS256, testSecret, "", claimsAt(now)))
	f.Add(mustSign(f, jwt.SigningMethodHS384, testSecret, "", claimsAt(now)))
	f.Add(mustSign(f, jwt.SigningMethodHS256, []byte("another secret, also 32 bytes!!!"), "", claimsAt(now)))
	f.Add(mustSign(f, jwt.SigningMethodHS256, testSecret, "", with(claimsAt(now), "exp", nil)))
	f.Add(strings.Join(strings.Split(mustSign(f, jwt.SigningMethodHS256, testSecret, "", claimsAt(now)), ".")[:2], ".") + ".")
	v := mustVerifier(f, auth.Config{HS256Secret: testSecret})
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := v.Verify(context.Background(), raw)
		if err != nil {
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("got error %v, want one wrapping ErrInvalidToken", err)
			}
			if len(raw) > 64 && strings.Contains(err.Error(), raw) { // longer than any reason
				t.Errorf("error %q contains the token", err)
			}
			return
		}
		if why := testserver.SignedHS256(raw, testSecret, time.Now()); why != nil {
			t.Fatalf("Verify accepted %q, which is not a live HS256 token signed with the secret: %v", raw, why)
		}
		p2, err := v.Verify(context.Background(), raw)
		if err != nil || p2.Subject != p.Subject || p2.SessionID != p.SessionID || p2.Role != p.Role {
			t.Errorf("second Verify: got %+v, %v; want %+v", p2, err, p)
		}
	})
}

// FuzzVerifyMutated applies byte edits to valid tokens: Verify must refuse
// every result except the untouched token, whatever the edit (a flipped
// bit in the signature, a header rewritten to alg none, a truncation, a
// second encoding of the same bytes). One exception is known and allowed:
// CR and LF inside the signature segment, which encoding/base64 skips even
// in strict mode, so the signature bytes are unchanged (the token is still
// signed with the secret, but its string is malleable; HTTP headers cannot
// carry it). See testdata/fuzz/FuzzVerifyMutated/newline-in-signature.
func FuzzVerifyMutated(f *testing.F) {
	now := time.Now()
	bases := []string{
		mustSign(f, jwt.SigningMethodHS256, testSecret, "", claimsAt(now)),
		mustSign(f, jwt.SigningMethodHS256, testSecret, "", with(claimsAt(now), "role", "super_admin", "sub", "root")),
		mustSign(f, jwt.SigningMethodHS256, testSecret, "", with(claimsAt(now),
			"token_type", "client_credentials", "scope", []string{"sessions:read", "sessions:write"}, "platform_token", true)),
	}
	// Edits are 4-byte records: op, position (2 bytes), value.
	f.Add(uint8(0), []byte{})
	f.Add(uint8(0), []byte{3, 0, 5, 0})      // flip a bit in the header
	f.Add(uint8(1), []byte{2, 255, 255, 0})  // drop the last byte of the signature
	f.Add(uint8(2), []byte{1, 255, 255, 61}) // append "="
	f.Add(uint8(0), []byte{0, 0, 10, 'A', 1, 0, 3, '.'})
	v := mustVerifier(f, auth.Config{HS256Secret: testSecret})
	f.Fuzz(func(t *testing.T, base uint8, edits []byte) {
		orig := bases[int(base)%len(bases)]
		tok := []byte(orig)
		for i := 0; i+3 < len(edits); i += 4 {
			op, val := edits[i]%4, edits[i+3]
			pos := int(edits[i+1])<<8 | int(edits[i+2])
			if len(tok) > 0 {
				pos %= len(tok) + 1
			} else {
				pos = 0
			}
			switch op {
			case 0: // replace
				if pos < len(tok) {
					tok[pos] = val
				}
			case 1: // delete
				if pos < len(tok) {
					tok = append(tok[:pos], tok[pos+1:]...)
				}
			case 2: // insert
				tok = append(tok[:pos], append([]byte{val}, tok[pos:]...)...)
			case 3: // flip a bit
				if pos < len(tok) {
					tok[pos] ^= 1 << (val % 8)
				}
			}
		}
		raw := string(tok)
		_, err := v.Verify(context.Background(), raw)
		switch {
		case err == nil && raw != orig && (sigWithoutCRLF(raw) != orig || testserver.SignedHS256(raw, testSecret, time.Now()) != nil):
			t.Fatalf("Verify accepted %q, an edit of the valid %q (independent check: %v)", raw, orig, testserver.SignedHS256(raw, testSecret, time.Now()))
		case err != nil && raw == orig:
			t.Fatalf("Verify refused the untouched token: %v", err)
		case err != nil && !errors.Is(err, auth.ErrInvalidToken):
			t.Errorf("got error %v, want one wrapping ErrInvalidToken", err)
		}
	})
}

// sigWithoutCRLF drops CR and LF from the signature segment of raw.
func sigWithoutCRLF(raw string) string {
	i := strings.LastIndexByte(raw, '.')
	if i < 0 {
		return raw
	}
	return raw[:i] + strings.NewReplacer("\r", "", "\n", "").Replace(raw[i:])
}
