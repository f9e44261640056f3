package fleet

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
)

// Identity is one client certificate with its key, all PEM-encoded as they are
// written to a bundle.
type Identity struct {
	// CertPEM is the certificate ("CERTIFICATE" block).
	CertPEM []byte
	// KeyPEM is the private key in PKCS #8 ("PRIVATE KEY" block).
	KeyPEM []byte
	// PublicKeyPEM is the public key in PKIX ("PUBLIC KEY" block).
	PublicKeyPEM []byte
	// CertificateID is the lowercase hex SHA-256 of the certificate DER
	// (64 characters), as AWS IoT Core computes it.
	CertificateID string
}

// CertificateID returns the AWS IoT certificate ID of a certificate given as
// DER bytes: the lowercase hex SHA-256 of der, 64 characters.
func CertificateID(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// TLSCertificate returns the identity as a tls.Certificate with Leaf set, ready
// for tls.Config.Certificates.
func (id *Identity) TLSCertificate() (tls.Certificate, error) {
	c, err := tls.X509KeyPair(id.CertPEM, id.KeyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("fleet: identity %s: certificate and key: %w", shortID(id.CertificateID), err)
	}
	return c, nil
}

// shortID returns the first ten characters of a certificate ID, the prefix the
// AWS console uses in file names.
func shortID(id string) string {
	if len(id) > 10 {
		return id[:10]
	}
	return id
}
