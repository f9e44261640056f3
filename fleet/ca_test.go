package fleet

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestCA(t testing.TB) *CA {
	t.Helper()
	ca, err := LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatalf("LoadOrCreateCA: %v", err)
	}
	return ca
}

func TestLoadOrCreateCAReloadsTheSameCA(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	second, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !bytes.Equal(first.CertPEM(), second.CertPEM()) {
		t.Fatal("second load returned a different CA certificate")
	}
	if !first.Certificate().Equal(second.Certificate()) {
		t.Fatal("parsed certificates differ")
	}
	// A certificate issued by the reloaded CA verifies against the first pool.
	id, err := second.Issue("sim-00000", KeyECDSA)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := parseCertificatePEM(id.CertPEM, "issued")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: first.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("certificate from reloaded CA does not verify against the original: %v", err)
	}
}

func TestLoadOrCreateCAFilesAndModes(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	keyInfo, err := os.Stat(filepath.Join(dir, "ca", "root-ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	if got := keyInfo.Mode().Perm(); got != 0o600 {
		t.Errorf("root-ca.key mode %o, want 600", got)
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, "ca", "root-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(certPEM, ca.CertPEM()) {
		t.Error("root-ca.pem differs from CertPEM()")
	}
	c := ca.Certificate()
	if !c.IsCA || !c.BasicConstraintsValid {
		t.Error("CA certificate lacks CA:TRUE")
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key %T, want ECDSA P-256", c.PublicKey)
	}
	if c.NotAfter.Year() != 2049 {
		t.Errorf("CA NotAfter %v, want 2049-12-31", c.NotAfter)
	}
	if c.SerialNumber.BitLen() < 64 {
		t.Errorf("CA serial %v looks not random", c.SerialNumber)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "ca", ".*tmp*")); len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestLoadOrCreateCAHalfPresentNamesTheMissingFile(t *testing.T) {
	for _, missing := range []string{CACertFileName, CAKeyFileName} {
		t.Run(missing, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := LoadOrCreateCA(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(dir, "ca", missing)); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateCA(dir)
			if err == nil {
				t.Fatal("want an error for a half-present CA")
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, "ca", missing)+" is missing") {
				t.Errorf("error %q does not name the missing %s", err, missing)
			}
		})
	}
}

func TestLoadOrCreateCARejectsMismatchedKey(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	for _, d := range []string{dir, other} {
		if _, err := LoadOrCreateCA(d); err != nil {
			t.Fatal(err)
		}
	}
	key, err := os.ReadFile(filepath.Join(other, "ca", CAKeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca", CAKeyFileName), key, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateCA(dir); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("want a key mismatch error, got %v", err)
	}
}

func TestLoadOrCreateCARejectsMalformedCertificate(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreateCA(dir); err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(dir, "ca", CACertFileName)
	if err := os.WriteFile(certPath, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOrCreateCA(dir)
	if err == nil || !strings.Contains(err.Error(), certPath) {
		t.Fatalf("want an error naming %s, got %v", certPath, err)
	}
}

func TestLoadOrCreateCAConcurrentCreatorsShareOneCA(t *testing.T) {
	dir := t.TempDir()
	const n = 4
	cas := make([]*CA, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { cas[i], errs[i] = LoadOrCreateCA(dir) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("creator %d: %v", i, errs[i])
		}
		if !bytes.Equal(cas[i].CertPEM(), cas[0].CertPEM()) {
			t.Fatalf("creator %d got a different CA", i)
		}
	}
	final, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(final.CertPEM(), cas[0].CertPEM()) {
		t.Fatal("the CA on disk is not the one the creators returned")
	}
}

func TestLoadOrCreateCARejectsEmptyDir(t *testing.T) {
	if _, err := LoadOrCreateCA(""); err == nil {
		t.Fatal("want an error for an empty data directory")
	}
}

func TestIssueVerifiesForClientAuth(t *testing.T) {
	ca := newTestCA(t)
	tests := []struct {
		name string
		kt   KeyType
		want KeyType
	}{
		{"default is ECDSA", "", KeyECDSA},
		{"ECDSA", KeyECDSA, KeyECDSA},
		{"RSA", KeyRSA, KeyRSA},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := ca.Issue("sim-00042", tc.kt)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := parseCertificatePEM(id.CertPEM, "issued")
			if err != nil {
				t.Fatal(err)
			}
			if got := keyTypeOf(cert); got != tc.want {
				t.Errorf("key type %q, want %q", got, tc.want)
			}
			if cert.Subject.CommonName != "sim-00042" {
				t.Errorf("subject CN %q, want sim-00042", cert.Subject.CommonName)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Errorf("does not verify for client auth: %v", err)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
				t.Error("a client certificate must not verify for server auth")
			}
			if cert.NotAfter.Year() != 2049 || cert.NotAfter.Month() != 12 || cert.NotAfter.Day() != 31 {
				t.Errorf("NotAfter %v, want 2049-12-31", cert.NotAfter)
			}
			if cert.IsCA {
				t.Error("client certificate is a CA")
			}
			if id.CertificateID != CertificateID(cert.Raw) {
				t.Errorf("CertificateID %s, want sha256 of DER", id.CertificateID)
			}
			pub, err := encodePublicKey(cert.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pub, id.PublicKeyPEM) {
				t.Error("PublicKeyPEM does not hold the certificate's key")
			}
			if _, err := id.TLSCertificate(); err != nil {
				t.Errorf("TLSCertificate: %v", err)
			}
		})
	}
}

func TestIssueGivesDistinctRandomSerials(t *testing.T) {
	ca := newTestCA(t)
	seen := map[string]bool{}
	for range 20 {
		id, err := ca.Issue("sim-1", KeyECDSA)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := parseCertificatePEM(id.CertPEM, "issued")
		if err != nil {
			t.Fatal(err)
		}
		s := cert.SerialNumber.String()
		if seen[s] {
			t.Fatalf("serial %s issued twice", s)
		}
		seen[s] = true
		if cert.SerialNumber.Sign() <= 0 || cert.SerialNumber.BitLen() > 128 {
			t.Fatalf("serial %s is not a positive 128-bit number", s)
		}
	}
}

func TestIssueRejectsBadInput(t *testing.T) {
	ca := newTestCA(t)
	tests := []struct {
		name, cn string
		kt       KeyType
	}{
		{"empty common name", "", KeyECDSA},
		{"unknown key type", "sim-1", "dsa"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ca.Issue(tc.cn, tc.kt); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestServerCertificateNames(t *testing.T) {
	ca := newTestCA(t)
	cert, err := ca.ServerCertificate("iot.example.test", "10.1.2.3", "localhost", "2001:db8::1", "*.wild.test", "Upper.Example.Test.")
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Certificate) != 2 || !bytes.Equal(cert.Certificate[1], ca.Certificate().Raw) {
		t.Fatal("chain is not leaf + CA")
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "iot.example.test", "10.1.2.3", "2001:db8::1", "a.wild.test", "upper.example.test"} {
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: ca.Pool()}); err != nil {
			t.Errorf("leaf does not verify for %s: %v", host, err)
		}
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: "other.example.test", Roots: ca.Pool()}); err == nil {
		t.Error("leaf verifies for a host it does not name")
	}
	if n := strings.Count(strings.Join(cert.Leaf.DNSNames, ","), "localhost"); n != 1 {
		t.Errorf("localhost listed %d times in %v", n, cert.Leaf.DNSNames)
	}
	for _, bad := range []string{"", "a host", "a/b", "fe80::1%eth0", "a..b", "*", "x.*.y", strings.Repeat("a", 64) + ".test"} {
		if _, err := ca.ServerCertificate(bad); err == nil {
			t.Errorf("host %q: want an error", bad)
		}
	}
}

// TestMutualTLSHandshake runs a real TLS handshake over loopback between the
// CA's server certificate and issued client certificates, with the server
// requiring and verifying the client certificate.
func TestMutualTLSHandshake(t *testing.T) {
	ca := newTestCA(t)
	serverCert, err := ca.ServerCertificate()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.Pool(),
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peers := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				tc := c.(*tls.Conn)
				_ = tc.SetDeadline(time.Now().Add(30 * time.Second))
				if err := tc.Handshake(); err != nil {
					peers <- "handshake error: " + err.Error()
					return
				}
				peers <- tc.ConnectionState().PeerCertificates[0].Subject.CommonName
				_, _ = io.WriteString(tc, "ok")
			}(c)
		}
	}()

	for _, kt := range []KeyType{KeyECDSA, KeyRSA} {
		t.Run(string(kt), func(t *testing.T) {
			id, err := ca.Issue("sim-"+string(kt), kt)
			if err != nil {
				t.Fatal(err)
			}
			clientCert, err := id.TLSCertificate()
			if err != nil {
				t.Fatal(err)
			}
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", ln.Addr().String(), &tls.Config{
				Certificates: []tls.Certificate{clientCert},
				RootCAs:      ca.Pool(),
				ServerName:   "localhost",
				MinVersion:   tls.VersionTLS12,
			})
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer conn.Close()
			buf := make([]byte, 2)
			if _, err := io.ReadFull(conn, buf); err != nil {
				t.Fatalf("read: %v", err)
			}
			if got := <-peers; got != "sim-"+string(kt) {
				t.Fatalf("server saw %q, want sim-%s", got, kt)
			}
		})
	}

	t.Run("foreign client rejected", func(t *testing.T) {
		other := newTestCA(t)
		id, err := other.Issue("intruder", KeyECDSA)
		if err != nil {
			t.Fatal(err)
		}
		clientCert, err := id.TLSCertificate()
		if err != nil {
			t.Fatal(err)
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", ln.Addr().String(), &tls.Config{
			Certificates: []tls.Certificate{clientCert},
			RootCAs:      ca.Pool(),
			ServerName:   "127.0.0.1",
			MinVersion:   tls.VersionTLS12,
		})
		if err == nil {
			// With TLS 1.3 the client learns of the rejection on first read.
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
		}
		if err == nil {
			t.Fatal("a certificate from another CA was accepted")
		}
		if got := <-peers; !strings.HasPrefix(got, "handshake error") {
			t.Fatalf("server saw %q, want a handshake error", got)
		}
	})
}

func TestCertificateIDKnownAnswer(t *testing.T) {
	tests := []struct {
		der  []byte
		want string
	}{
		{nil, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{[]byte("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tc := range tests {
		if got := CertificateID(tc.der); got != tc.want {
			t.Errorf("CertificateID(%q) = %s, want %s", tc.der, got, tc.want)
		}
	}
}

func TestTLSCertificateRejectsMismatchedKey(t *testing.T) {
	ca := newTestCA(t)
	a, err := ca.Issue("a", KeyECDSA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ca.Issue("b", KeyECDSA)
	if err != nil {
		t.Fatal(err)
	}
	mixed := &Identity{CertPEM: a.CertPEM, KeyPEM: b.KeyPEM, CertificateID: a.CertificateID}
	if _, err := mixed.TLSCertificate(); err == nil {
		t.Fatal("want an error for a key that does not match the certificate")
	}
}
