package signing_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessiond/sessiond/pkg/signing"
)

// TestParseKeyAccepts: every accepted encoding of both key kinds parses to
// the right algorithm, and its kid is the thumbprint of its public key, so
// the encoding never changes the kid.
func TestParseKeyAccepts(t *testing.T) {
	k := mustRawKeys(t)
	ecParams := pemOf("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})
	tests := []struct {
		name    string
		pem     []byte
		wantAlg string
		pub     any
	}{
		{"EC PKCS#8", mustPKCS8(t, k.ec256), "ES256", &k.ec256.PublicKey},
		{"EC SEC1", mustSEC1(t, k.ec256), "ES256", &k.ec256.PublicKey},
		{"EC SEC1 after EC PARAMETERS (openssl ecparam -genkey)", append(ecParams, mustSEC1(t, k.ec256)...), "ES256", &k.ec256.PublicKey},
		{"EC SEC1 with surrounding text", append([]byte("comment\n"), mustSEC1(t, k.ec256)...), "ES256", &k.ec256.PublicKey},
		{"RSA PKCS#8", mustPKCS8(t, k.rsa2048), "RS256", &k.rsa2048.PublicKey},
		{"RSA PKCS#1", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k.rsa2048)), "RS256", &k.rsa2048.PublicKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := signing.ParseKey(tc.pem)
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if got := key.Algorithm(); got != tc.wantAlg {
				t.Errorf("algorithm: got %q, want %q", got, tc.wantAlg)
			}
			want, err := signing.Thumbprint(tc.pub)
			if err != nil {
				t.Fatal(err)
			}
			if got := key.KID(); got != want {
				t.Errorf("kid: got %q, want the thumbprint %q", got, want)
			}
			j := key.PublicJWK()
			if j.Kid != want || j.Alg != tc.wantAlg || j.Use != "sig" {
				t.Errorf("JWK: got kid %q alg %q use %q, want %q %q sig", j.Kid, j.Alg, j.Use, want, tc.wantAlg)
			}
		})
	}
}

// TestParseKeyRefuses: anything but an unencrypted P-256 or RSA ≥ 2048
// private key is refused with ErrInvalidKey and a message that says why.
func TestParseKeyRefuses(t *testing.T) {
	k := mustRawKeys(t)
	encrypted := pem.EncodeToMemory(&pem.Block{
		Type:    "EC PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00000000000000000000000000000000"},
		Bytes:   []byte("ciphertext"),
	})
	tests := []struct {
		name    string
		pem     []byte
		wantMsg string
	}{
		{"empty", nil, "no PEM block"},
		{"garbage", []byte("not a key at all"), "no PEM block"},
		{"EC P-384 SEC1", mustSEC1(t, k.ec384), "P-384"},
		{"EC P-384 PKCS#8", mustPKCS8(t, k.ec384), "P-384"},
		{"RSA 1024 PKCS#1", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k.rsa1024)), "1024 bits"},
		{"RSA 1024 PKCS#8", mustPKCS8(t, k.rsa1024), "1024 bits"},
		{"Ed25519 PKCS#8", mustPKCS8(t, k.ed), "Ed25519"},
		{"EC public key", mustPKIX(t, &k.ec256.PublicKey), "no private key"},
		{"RSA public key", mustPKIX(t, &k.rsa2048.PublicKey), "no private key"},
		{"PKCS#1 public key", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&k.rsa2048.PublicKey)), "no private key"},
		{"certificate", pemOf("CERTIFICATE", []byte{0x30, 0x00}), "no private key"},
		{"legacy encrypted PEM", encrypted, "encrypted"},
		{"PKCS#8 encrypted", pemOf("ENCRYPTED PRIVATE KEY", []byte{0x30, 0x00}), "encrypted"},
		{"OpenSSH key", pemOf("OPENSSH PRIVATE KEY", []byte("x")), "unsupported PEM type"},
		{"corrupt PKCS#8", pemOf("PRIVATE KEY", []byte{0x30, 0x03, 0x02, 0x01}), "PRIVATE KEY"},
		{"corrupt SEC1", pemOf("EC PRIVATE KEY", []byte("junk")), "EC PRIVATE KEY"},
		{"corrupt PKCS#1", pemOf("RSA PRIVATE KEY", []byte("junk")), "RSA PRIVATE KEY"},
		{"PKCS#1 labelled as SEC1", pemOf("EC PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k.rsa2048)), "EC PRIVATE KEY"},
		{"two keys", append(mustSEC1(t, k.ec256), mustSEC1(t, k.ec256b)...), "more than one PEM block"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := signing.ParseKey(tc.pem)
			if err == nil {
				t.Fatalf("got key %s, want an error", key.KID())
			}
			if !errors.Is(err, signing.ErrInvalidKey) {
				t.Errorf("got %v, want it to wrap ErrInvalidKey", err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("got %q, want it to mention %q", err, tc.wantMsg)
			}
		})
	}
}

func TestLoadKeyFile(t *testing.T) {
	k := mustRawKeys(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.pem", mustSEC1(t, k.ec256))
	tests := []struct {
		name       string
		path       string
		wantKID    string
		wantErr    string
		invalidKey bool
	}{
		{"valid", good, mustKey(t, k.ec256).KID(), "", false},
		{"missing", filepath.Join(dir, "nope.pem"), "", "nope.pem", false},
		{"public key names the file", write("pub.pem", mustPKIX(t, &k.ec256.PublicKey)), "", "pub.pem", true},
		{"too large", write("big.pem", bytes.Repeat([]byte("A"), 65<<10)), "", "larger than", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := signing.LoadKeyFile(tc.path)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if key.KID() != tc.wantKID {
					t.Errorf("kid: got %q, want %q", key.KID(), tc.wantKID)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.wantErr)
			}
			if got := errors.Is(err, signing.ErrInvalidKey); got != tc.invalidKey {
				t.Errorf("errors.Is(err, ErrInvalidKey): got %v, want %v", got, tc.invalidKey)
			}
		})
	}

	t.Run("LoadKeyFiles keeps order and stops at an error", func(t *testing.T) {
		second := write("second.pem", mustPKCS8(t, k.ec256b))
		keys, err := signing.LoadKeyFiles([]string{second, good})
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 2 || keys[0].KID() != mustKey(t, k.ec256b).KID() || keys[1].KID() != mustKey(t, k.ec256).KID() {
			t.Errorf("got %d keys in the wrong order", len(keys))
		}
		if _, err := signing.LoadKeyFiles([]string{good, filepath.Join(dir, "gone.pem")}); err == nil {
			t.Error("got no error for a missing second file")
		}
	})
}

func TestGenerateKey(t *testing.T) {
	a, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if a.Algorithm() != "ES256" {
		t.Errorf("algorithm: got %q, want ES256", a.Algorithm())
	}
	if a.KID() == b.KID() {
		t.Errorf("two generated keys share kid %q", a.KID())
	}
	if want, _ := signing.Thumbprint(a.Public()); a.KID() != want {
		t.Errorf("kid: got %q, want thumbprint %q", a.KID(), want)
	}
}

// TestSignHeader: the header carries the key's alg, its kid and the typ
// asked for (JWT by default), and the signature verifies with the public key.
func TestSignHeader(t *testing.T) {
	k := mustRawKeys(t)
	tests := []struct {
		name    string
		key     *signing.Key
		typ     string
		wantTyp string
	}{
		{"ES256 logout+jwt", mustKey(t, k.ec256), "logout+jwt", "logout+jwt"},
		{"RS256 secevent+jwt", mustKey(t, k.rsa2048), "secevent+jwt", "secevent+jwt"},
		{"default typ", mustKey(t, k.ec256), "", "JWT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.key.Sign(jwt.MapClaims{"iss": "https://sessiond.test"}, tc.typ)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jwt.Parse(s, func(*jwt.Token) (any, error) { return tc.key.Public(), nil },
				jwt.WithValidMethods([]string{tc.key.Algorithm()}))
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			for h, want := range map[string]string{"alg": tc.key.Algorithm(), "kid": tc.key.KID(), "typ": tc.wantTyp} {
				if got := tok.Header[h]; got != want {
					t.Errorf("header %s: got %v, want %q", h, got, want)
				}
			}
		})
	}
}
