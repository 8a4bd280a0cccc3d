package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
)

// JWK is the public JSON Web Key (RFC 7517) of a signing key. Only public
// members exist in this type, so a JWK can never leak a private parameter.
type JWK struct {
	Kty string `json:"kty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Kid string `json:"kid,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

// JWKSet is a JWK Set document (RFC 7517 section 5).
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

var b64 = base64.RawURLEncoding

// Thumbprint returns the RFC 7638 JWK thumbprint of an *ecdsa.PublicKey
// (P-256) or *rsa.PublicKey: base64url (no padding) of the SHA-256 of the
// key's required JWK members, in lexicographic order and without
// whitespace.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := publicJWK(pub)
	if err != nil {
		return "", err
	}
	return thumbprintJWK(j)
}

// publicJWK returns the required members of pub's JWK (kty and the key
// parameters), without kid, alg or use.
func publicJWK(pub crypto.PublicKey) (JWK, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return JWK{}, fmt.Errorf("signing: EC key on curve %s: only P-256 is supported", k.Curve.Params().Name)
		}
		// Bytes is 0x04 || X || Y with fixed-size coordinates, as RFC 7518
		// section 6.2.1.2 requires (leading zeros kept).
		p, err := k.Bytes()
		if err != nil {
			return JWK{}, fmt.Errorf("signing: EC public key: %w", err)
		}
		n := (len(p) - 1) / 2
		return JWK{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(p[1 : 1+n]), Y: b64.EncodeToString(p[1+n:])}, nil
	case *rsa.PublicKey:
		return JWK{Kty: "RSA", N: b64.EncodeToString(k.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())}, nil
	default:
		return JWK{}, fmt.Errorf("signing: unsupported public key type %T", pub)
	}
}

// thumbprintJWK hashes the RFC 7638 canonical form of j. The structs list
// the required members in lexicographic order, and encoding/json writes
// struct fields in order with no whitespace.
func thumbprintJWK(j JWK) (string, error) {
	var canonical any
	switch j.Kty {
	case "EC":
		canonical = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{j.Crv, j.Kty, j.X, j.Y}
	case "RSA":
		canonical = struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{j.E, j.Kty, j.N}
	default:
		return "", fmt.Errorf("signing: thumbprint of kty %q", j.Kty)
	}
	b, err := json.Marshal(canonical)
	if err != nil {
		return "", fmt.Errorf("signing: thumbprint: %w", err)
	}
	sum := sha256.Sum256(b)
	return b64.EncodeToString(sum[:]), nil
}
