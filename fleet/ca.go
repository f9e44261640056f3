package fleet

import (
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File names of the CA inside the data directory.
const (
	// CADirName is the directory under the data directory that holds the CA.
	CADirName = "ca"
	// CACertFileName is the CA certificate file inside CADirName.
	CACertFileName = "root-ca.pem"
	// CAKeyFileName is the CA private key file inside CADirName (mode 0600).
	CAKeyFileName = "root-ca.key"
)

// caCommonName is the subject CN of a CA this package creates.
const caCommonName = "shadowload local root CA"

// serverCertLifetime is the validity of a server leaf: it is made at every
// start, so it needs no long life, and 397 days is what browsers accept.
const serverCertLifetime = 397 * 24 * time.Hour

// clockSkew backdates NotBefore so peers with a slightly slow clock accept a
// fresh certificate.
const clockSkew = time.Hour

// caPartialWait bounds how long LoadOrCreateCA waits for a CA that another
// process is writing at the same moment.
const caPartialWait = 3 * time.Second

// validUntil is the NotAfter of the CA and of client certificates, the date
// AWS gives its own device certificates.
func validUntil() time.Time { return time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC) }

// CA is the emulator's local certificate authority, kept in a data directory.
// Its methods are safe for concurrent use.
type CA struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	// roots is read-only after construction; Pool hands out copies.
	roots *x509.CertPool
}

// LoadOrCreateCA returns the CA kept in dataDir/ca: root-ca.pem (certificate)
// and root-ca.key (PKCS #8 private key, mode 0600). When neither file exists it
// creates an ECDSA P-256 CA valid until 2049-12-31; when both exist it loads and
// checks them; when only one exists it returns an error naming the missing one.
// Two processes creating the same CA at once end up sharing one of them.
func LoadOrCreateCA(dataDir string) (*CA, error) {
	if dataDir == "" {
		return nil, errors.New("fleet: CA data directory is empty, want a path")
	}
	dir := filepath.Join(dataDir, CADirName)
	certPath := filepath.Join(dir, CACertFileName)
	keyPath := filepath.Join(dir, CAKeyFileName)

	certOK, keyOK, err := caFilesPresent(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	if !certOK && keyOK {
		certOK, keyOK, err = waitForCACert(certPath, keyPath)
		if err != nil {
			return nil, err
		}
	}
	switch {
	case certOK && keyOK:
		return loadCA(certPath, keyPath)
	case certOK:
		return nil, fmt.Errorf("fleet: CA certificate %s exists but its key %s is missing: restore the key or remove the certificate to create a new CA", certPath, keyPath)
	case keyOK:
		return nil, fmt.Errorf("fleet: CA key %s exists but its certificate %s is missing: restore the certificate or remove the key to create a new CA", keyPath, certPath)
	}
	return createCA(dir, certPath, keyPath)
}

// caFilesPresent reports which CA files exist; any error other than absence is
// returned.
func caFilesPresent(certPath, keyPath string) (certOK, keyOK bool, err error) {
	if certOK, err = fileExists(certPath); err != nil {
		return false, false, err
	}
	if keyOK, err = fileExists(keyPath); err != nil {
		return false, false, err
	}
	return certOK, keyOK, nil
}

// waitForCACert gives a concurrent creator, which links the key before it
// renames the certificate into place, a moment to finish.
func waitForCACert(certPath, keyPath string) (certOK, keyOK bool, err error) {
	deadline := time.Now().Add(caPartialWait)
	for {
		certOK, keyOK, err = caFilesPresent(certPath, keyPath)
		if err != nil || certOK || !keyOK || time.Now().After(deadline) {
			return certOK, keyOK, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func fileExists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("fleet: stat %s: %w", path, err)
}

// loadCA reads and checks an existing CA.
func loadCA(certPath, keyPath string) (*CA, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("fleet: read CA certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("fleet: read CA key: %w", err)
	}
	cert, err := parseCertificatePEM(certPEM, certPath)
	if err != nil {
		return nil, fmt.Errorf("fleet: CA certificate: %w", err)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, fmt.Errorf("fleet: CA certificate %s: not a CA (basic constraints CA:TRUE missing)", certPath)
	}
	key, err := parsePrivateKeyPEM(keyPEM, keyPath)
	if err != nil {
		return nil, fmt.Errorf("fleet: CA key: %w", err)
	}
	if !samePublicKey(key, cert.PublicKey) {
		return nil, fmt.Errorf("fleet: CA key %s does not match the certificate %s", keyPath, certPath)
	}
	return newCA(cert, key), nil
}

// createCA makes a new CA and writes it to dir. The key is linked into place
// first (exclusive: a concurrent creator's link fails) and the certificate is
// renamed in after it, so a CA with a certificate is always complete.
func createCA(dir, certPath, keyPath string) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("fleet: create CA directory: %w", err)
	}
	key, err := generateKey(KeyECDSA)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: caCommonName, Organization: []string{"shadowload"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              validUntil(),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("fleet: sign CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("fleet: parse new CA certificate: %w", err)
	}
	keyPEM, err := encodePrivateKey(key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})

	keyTmp, err := writeTemp(dir, CAKeyFileName, keyPEM, 0o600)
	if err != nil {
		return nil, err
	}
	defer os.Remove(keyTmp)
	certTmp, err := writeTemp(dir, CACertFileName, certPEM, 0o644)
	if err != nil {
		return nil, err
	}
	defer os.Remove(certTmp)

	if err := os.Link(keyTmp, keyPath); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created the CA first: use theirs.
			if _, _, err := waitForCACert(certPath, keyPath); err != nil {
				return nil, err
			}
			return loadCA(certPath, keyPath)
		}
		return nil, fmt.Errorf("fleet: install CA key: %w", err)
	}
	if err := os.Rename(certTmp, certPath); err != nil {
		return nil, fmt.Errorf("fleet: install CA certificate: %w", err)
	}
	return newCA(cert, key), nil
}

func newCA(cert *x509.Certificate, key crypto.Signer) *CA {
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &CA{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		roots:   roots,
	}
}

// CertPEM returns the CA certificate in PEM, as written to root-ca.pem. The
// caller must not modify the returned slice.
func (ca *CA) CertPEM() []byte { return ca.certPEM }

// Certificate returns the parsed CA certificate. The caller must not modify it.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// Pool returns a new certificate pool holding only the CA, for
// tls.Config.RootCAs on clients and tls.Config.ClientCAs on the server.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// ServerCertificate issues a fresh ECDSA P-256 server certificate chained to the
// CA (the chain holds the leaf and the CA) for localhost, 127.0.0.1 and ::1
// plus hosts, each a DNS name (wildcards allowed) or an IP address. It is valid
// for 397 days from now.
func (ca *CA) ServerCertificate(hosts ...string) (tls.Certificate, error) {
	dnsNames := []string{"localhost"}
	ips := []net.IP{net.IPv4(127, 0, 0, 1).To4(), net.IPv6loopback}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if v4 := ip.To4(); v4 != nil {
				ip = v4
			}
			if !slices.ContainsFunc(ips, ip.Equal) {
				ips = append(ips, ip)
			}
			continue
		}
		name := strings.ToLower(strings.TrimSuffix(h, "."))
		if !validDNSName(name) {
			return tls.Certificate{}, fmt.Errorf("fleet: server certificate host %q: want a DNS name (letters, digits, '-', '.', a leading '*.') or an IP address", h)
		}
		if !slices.Contains(dnsNames, name) {
			dnsNames = append(dnsNames, name)
		}
	}
	key, err := generateKey(KeyECDSA)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := randomSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: dnsNames[0], Organization: []string{"shadowload"}},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(serverCertLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     dnsNames,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("fleet: sign server certificate for %v %v: %w", dnsNames, ips, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("fleet: parse new server certificate: %w", err)
	}
	return tls.Certificate{
		Certificate: [][]byte{der, ca.cert.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}, nil
}

// Issue makes a client certificate (ExtKeyUsageClientAuth) with subject
// CN=commonName and a new key of type kt ("" means KeyECDSA), valid until
// 2049-12-31, with a random 128-bit serial number.
func (ca *CA) Issue(commonName string, kt KeyType) (*Identity, error) {
	if commonName == "" {
		return nil, errors.New("fleet: issue certificate: common name is empty")
	}
	kt, err := kt.normalize()
	if err != nil {
		return nil, err
	}
	key, err := generateKey(kt)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	usage := x509.KeyUsageDigitalSignature
	if kt == KeyRSA {
		usage |= x509.KeyUsageKeyEncipherment
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    time.Now().Add(-clockSkew),
		NotAfter:     validUntil(),
		KeyUsage:     usage,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("fleet: sign client certificate for %q: %w", commonName, err)
	}
	keyPEM, err := encodePrivateKey(key)
	if err != nil {
		return nil, err
	}
	pubPEM, err := encodePublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	return &Identity{
		CertPEM:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:        keyPEM,
		PublicKeyPEM:  pubPEM,
		CertificateID: CertificateID(der),
	}, nil
}

// verifyClient reports whether cert chains to the CA for client authentication.
func (ca *CA) verifyClient(cert *x509.Certificate) error {
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:     ca.roots,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	return err
}

// validDNSName reports whether name is a plausible DNS name for a certificate:
// dot-separated labels of letters, digits, '-' and '_', the first of which may
// be the wildcard "*".
func validDNSName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for i, label := range strings.Split(name, ".") {
		if label == "*" && i == 0 && name != "*" {
			continue
		}
		if label == "" || len(label) > 63 {
			return false
		}
		for j := 0; j < len(label); j++ {
			c := label[j]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
