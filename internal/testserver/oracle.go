package testserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sessiond/sessiond/pkg/auth"
)

// SignedHS256 reports why raw is not a compact JWS whose header names HS256,
// whose signature is the HMAC-SHA256 of its signing input under secret
// (base64url without padding, canonical), and whose exp is a number not yet
// past (with the default leeway), or nil when it is: what docs/auth.md
// requires of an accepted HS256 token, checked with the standard library
// alone. The fuzz tests of pkg/auth and handlers use it as their oracle,
// independent of the verifier they test.
func SignedHS256(raw string, secret []byte, now time.Time) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return errors.New("not three segments")
	}
	enc := base64.RawURLEncoding.Strict()
	hdr, err1 := enc.DecodeString(parts[0])
	payload, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	var h, c map[string]any
	if err := json.Unmarshal(hdr, &h); err != nil {
		return err
	}
	if h["alg"] != "HS256" {
		return errors.New("alg is not HS256")
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return err
	}
	exp, ok := numericDate(c["exp"])
	if !ok {
		return errors.New("no numeric exp")
	}
	if float64(now.Unix())-auth.DefaultLeeway.Seconds() >= exp {
		return errors.New("expired")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return errors.New("signature is not the HMAC of the signing input")
	}
	return nil
}

// jsonNumberRE is a JSON number (RFC 8259 §6).
var jsonNumberRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// numericDate reads a NumericDate claim. RFC 7519 makes it a JSON number;
// golang-jwt also takes a string holding one (it decodes through
// json.Number), a leniency that forges nothing, so the oracle allows it.
func numericDate(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		if !jsonNumberRE.MatchString(x) {
			return 0, false
		}
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}
