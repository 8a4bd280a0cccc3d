package signing_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"sync"
	"testing"

	"github.com/sessiond/sessiond/pkg/signing"
)

// rawKeys are generated once: RSA generation is slow and the machine shared.
type rawKeys struct {
	ec256, ec256b, ec384 *ecdsa.PrivateKey
	rsa2048, rsa1024     *rsa.PrivateKey
	ed                   ed25519.PrivateKey
}

var testKeys = sync.OnceValues(func() (*rawKeys, error) {
	var k rawKeys
	var err error
	if k.ec256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if k.ec256b, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if k.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		return nil, err
	}
	if k.rsa2048, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if k.rsa1024, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		return nil, err
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	return &k, nil
})

func mustRawKeys(tb testing.TB) *rawKeys {
	tb.Helper()
	k, err := testKeys()
	if err != nil {
		tb.Fatalf("generate test keys: %v", err)
	}
	return k
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func mustPKCS8(tb testing.TB, priv any) []byte {
	tb.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return pemOf("PRIVATE KEY", der)
}

func mustSEC1(tb testing.TB, priv *ecdsa.PrivateKey) []byte {
	tb.Helper()
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return pemOf("EC PRIVATE KEY", der)
}

func mustPKIX(tb testing.TB, pub any) []byte {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return pemOf("PUBLIC KEY", der)
}

func mustKey(tb testing.TB, priv any) *signing.Key {
	tb.Helper()
	k, err := signing.NewKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}
