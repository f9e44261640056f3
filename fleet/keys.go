package fleet

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
)

// KeyType names the key algorithm of an issued identity.
type KeyType string

const (
	// KeyECDSA is an ECDSA key on the NIST P-256 curve, the default.
	KeyECDSA KeyType = "ecdsa"
	// KeyRSA is a 2048-bit RSA key, the kind AWS CreateKeysAndCertificate makes.
	KeyRSA KeyType = "rsa"
)

// rsaBits is the modulus size of KeyRSA keys.
const rsaBits = 2048

// ParseKeyType reads a key type as given on a command line: "ecdsa" or "rsa"
// (case-insensitive); "" means KeyECDSA.
func ParseKeyType(s string) (KeyType, error) {
	return KeyType(strings.ToLower(strings.TrimSpace(s))).normalize()
}

// normalize returns the key type the zero value stands for, or an error naming
// the accepted values.
func (kt KeyType) normalize() (KeyType, error) {
	switch kt {
	case "", KeyECDSA:
		return KeyECDSA, nil
	case KeyRSA:
		return KeyRSA, nil
	}
	return "", fmt.Errorf("fleet: key type %q: want %q or %q", string(kt), KeyECDSA, KeyRSA)
}

// generateKey makes a new private key of the given (normalized) type.
func generateKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case KeyECDSA:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("fleet: generate ECDSA P-256 key: %w", err)
		}
		return k, nil
	case KeyRSA:
		k, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return nil, fmt.Errorf("fleet: generate RSA %d key: %w", rsaBits, err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("fleet: key type %q: want %q or %q", string(kt), KeyECDSA, KeyRSA)
}

// keyTypeOf reports the KeyType of a certificate's public key, or "" for any
// other algorithm or size.
func keyTypeOf(cert *x509.Certificate) KeyType {
	switch pub := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if pub.Curve == elliptic.P256() {
			return KeyECDSA
		}
	case *rsa.PublicKey:
		if pub.N.BitLen() == rsaBits {
			return KeyRSA
		}
	}
	return ""
}

// randomSerial returns a random positive 128-bit certificate serial number.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("fleet: random serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// encodePrivateKey returns the PKCS #8 PEM encoding ("PRIVATE KEY") of key.
func encodePrivateKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("fleet: encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// encodePublicKey returns the PKIX PEM encoding ("PUBLIC KEY") of pub.
func encodePublicKey(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("fleet: encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// parsePrivateKeyPEM reads the first PEM block of data as a PKCS #8, SEC 1 or
// PKCS #1 private key. source names the data in errors.
func parsePrivateKeyPEM(data []byte, source string) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block found, want a PRIVATE KEY block", source)
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%s: PEM block %q, want PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY", source, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: parse %s: %w", source, block.Type, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: key of type %T cannot sign", source, key)
	}
	return signer, nil
}

// parseCertificatePEM reads the first PEM block of data as an X.509
// certificate. source names the data in errors.
func parseCertificatePEM(data []byte, source string) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block found, want a CERTIFICATE block", source)
	}
	if block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: PEM block %q, want CERTIFICATE", source, block.Type)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: parse certificate: %w", source, err)
	}
	return cert, nil
}

// samePublicKey reports whether the signer's public key equals pub.
func samePublicKey(key crypto.Signer, pub crypto.PublicKey) bool {
	eq, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(pub)
}
