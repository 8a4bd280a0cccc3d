// Package signing holds sessiond's own signing keys: the keys that sign the
// logout tokens and Security Event Tokens it pushes to relying parties, and
// the JWK Set that publishes their public halves at /.well-known/jwks.json.
//
// A key is an EC P-256 key (ES256) or an RSA key of at least 2048 bits
// (RS256), read from PEM in PKCS#8 ("PRIVATE KEY"), SEC 1 ("EC PRIVATE KEY")
// or PKCS#1 ("RSA PRIVATE KEY") form. Its kid is its RFC 7638 thumbprint, so
// the same key always gets the same kid on every instance and after every
// restart, with nothing to configure.
package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// MinRSABits is the smallest RSA modulus ParseKey accepts.
const MinRSABits = 2048

// maxKeyFile bounds what LoadKeyFile reads: a PEM private key is a few KB,
// so anything larger is not one.
const maxKeyFile = 64 << 10

// ErrInvalidKey is wrapped by every error ParseKey, LoadKeyFile and
// LoadKeyFiles return for material that is not a usable signing key (the
// message says why); a file that cannot be read is reported as is.
var ErrInvalidKey = errors.New("signing: invalid key")

// Key is a private signing key with its algorithm and kid. It is safe for
// concurrent use.
type Key struct {
	priv   crypto.Signer // *ecdsa.PrivateKey or *rsa.PrivateKey
	method jwt.SigningMethod
	jwk    JWK // public half, with kid, alg and use
}

// ParseKey reads one PEM private key: EC P-256 gives ES256, RSA of at least
// MinRSABits gives RS256. "EC PARAMETERS" blocks (as `openssl ecparam
// -genkey` writes them) are skipped. It refuses, wrapping ErrInvalidKey,
// anything else: no PEM, more than one key, encrypted PEM, public keys and
// certificates, other curves, short RSA keys, Ed25519 and other key types.
func ParseKey(pemBytes []byte) (*Key, error) {
	var block *pem.Block
	for rest := pemBytes; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "EC PARAMETERS" {
			continue
		}
		if block != nil {
			return nil, invalid("more than one PEM block (%q and %q): give one private key", block.Type, b.Type)
		}
		block = b
	}
	if block == nil {
		return nil, invalid("no PEM block found")
	}
	if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, invalid("%q is encrypted: give an unencrypted key (protect the file instead)", block.Type)
	}
	var (
		priv any
		err  error
	)
	switch block.Type {
	case "PRIVATE KEY":
		priv, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		priv, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		priv, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
		return nil, invalid("%q holds no private key", block.Type)
	default:
		return nil, invalid("unsupported PEM type %q (want PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)", block.Type)
	}
	if err != nil {
		return nil, invalid("%q: %v", block.Type, err)
	}
	return NewKey(priv)
}

// NewKey wraps an already parsed private key under the same rules as
// ParseKey: *ecdsa.PrivateKey on P-256, or *rsa.PrivateKey of at least
// MinRSABits.
func NewKey(priv any) (*Key, error) {
	var (
		signer crypto.Signer
		method jwt.SigningMethod
	)
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, invalid("EC key on curve %s: only P-256 (ES256) is supported", k.Curve.Params().Name)
		}
		signer, method = k, jwt.SigningMethodES256
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < MinRSABits {
			return nil, invalid("RSA key of %d bits: at least %d are required", bits, MinRSABits)
		}
		signer, method = k, jwt.SigningMethodRS256
	case ed25519.PrivateKey:
		return nil, invalid("Ed25519 keys are not supported: use EC P-256 or RSA")
	default:
		return nil, invalid("unsupported key type %T: use EC P-256 or RSA", priv)
	}
	j, err := publicJWK(signer.Public())
	if err != nil {
		return nil, invalid("%v", err)
	}
	if j.Kid, err = thumbprintJWK(j); err != nil {
		return nil, invalid("%v", err)
	}
	j.Alg, j.Use = method.Alg(), "sig"
	return &Key{priv: signer, method: method, jwk: j}, nil
}

// LoadKeyFile reads the PEM file at path and parses it with ParseKey. Errors
// name the file.
func LoadKeyFile(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("signing: read %s: %w", path, err)
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("%s: %w: file larger than %d bytes", path, ErrInvalidKey, maxKeyFile)
	}
	k, err := ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// LoadKeyFiles loads each path with LoadKeyFile, in order, stopping at the
// first error. It is meant for the previous keys of a rotation.
func LoadKeyFiles(paths []string) ([]*Key, error) {
	keys := make([]*Key, 0, len(paths))
	for _, p := range paths {
		k, err := LoadKeyFile(p)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// GenerateKey returns a fresh EC P-256 key, for dev mode: it lives only as
// long as the process, so receivers must refetch the JWKS after a restart.
func GenerateKey() (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("signing: generate P-256 key: %w", err)
	}
	return NewKey(priv)
}

// KID returns the key's kid: its RFC 7638 SHA-256 thumbprint, base64url.
func (k *Key) KID() string { return k.jwk.Kid }

// Algorithm returns the JWS algorithm the key signs with: "ES256" or "RS256".
func (k *Key) Algorithm() string { return k.method.Alg() }

// Public returns the public half (*ecdsa.PublicKey or *rsa.PublicKey).
func (k *Key) Public() crypto.PublicKey { return k.priv.Public() }

// PublicJWK returns the public half as a JWK with kid, alg and use "sig". It
// never carries private parameters.
func (k *Key) PublicJWK() JWK { return k.jwk }

// Sign signs claims as a JWS compact token with the key's algorithm, its kid
// in the header and typ as the header's "typ" ("JWT" when typ is empty).
func (k *Key) Sign(claims jwt.Claims, typ string) (string, error) {
	t := jwt.NewWithClaims(k.method, claims)
	t.Header["kid"] = k.jwk.Kid
	if typ != "" {
		t.Header["typ"] = typ
	}
	s, err := t.SignedString(k.priv)
	if err != nil {
		return "", fmt.Errorf("signing: sign: %w", err)
	}
	return s, nil
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidKey}, a...)...)
}
