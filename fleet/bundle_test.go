package fleet

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTestBundles issues identities for names and writes their bundles, a
// root-ca.pem and, when withManifest, a manifest.
func writeTestBundles(t *testing.T, ca *CA, dir string, withManifest bool, names ...string) map[string]*Identity {
	t.Helper()
	ids := map[string]*Identity{}
	m := &Manifest{Version: 1, RootCA: RootCAFileName}
	for _, n := range names {
		id, err := ca.Issue(n, KeyECDSA)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteBundle(dir, n, id); err != nil {
			t.Fatal(err)
		}
		ids[n] = id
		m.Things = append(m.Things, ManifestThing{Name: n, CertificateID: id.CertificateID, Policy: "p", Observer: strings.HasPrefix(n, "observer")})
	}
	if err := os.WriteFile(filepath.Join(dir, RootCAFileName), ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if withManifest {
		if err := WriteManifest(dir, m); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func TestWriteBundleLayoutAndModes(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	id, err := ca.Issue("sim-00001", KeyECDSA)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteBundle(dir, "sim-00001", id); err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name string
		want []byte
		mode os.FileMode
	}{
		{"certificate.pem.crt", id.CertPEM, 0o644},
		{"private.pem.key", id.KeyPEM, 0o600},
		{"public.pem.key", id.PublicKeyPEM, 0o644},
	}
	for _, f := range files {
		path := filepath.Join(dir, "sim-00001", f.name)
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f.want) {
			t.Errorf("%s content differs", f.name)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		// Group and other bits may be narrowed by the umask, never widened.
		if perm := info.Mode().Perm(); perm&^f.mode != 0 || perm&0o600 != 0o600 {
			t.Errorf("%s mode %o, want %o", f.name, perm, f.mode)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "sim-00001"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Errorf("bundle holds %d files, want 3", len(entries))
	}
}

func TestWriteBundleTightensAnExistingKeyMode(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "sim-1", PrivateKeyFileName)
	if err := os.MkdirAll(filepath.Dir(keyPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	id, err := ca.Issue("sim-1", KeyECDSA)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteBundle(dir, "sim-1", id); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Fatalf("rewritten key mode %o, want 600", perm)
	}
}

func TestWriteBundleRejectsUnsafeThingNames(t *testing.T) {
	ca := newTestCA(t)
	id, err := ca.Issue("x", KeyECDSA)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "..", "../escape", "a/b"} {
		if err := WriteBundle(t.TempDir(), name, id); err == nil {
			t.Errorf("WriteBundle with thing %q: want an error", name)
		}
	}
	if err := WriteBundle(t.TempDir(), "x", &Identity{}); err == nil {
		t.Error("WriteBundle with an empty identity: want an error")
	}
}

func TestLoadBundleGivesAUsableCertificate(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	ids := writeTestBundles(t, ca, dir, false, "sim-7")
	b, err := LoadBundle(filepath.Join(dir, "sim-7") + "/")
	if err != nil {
		t.Fatal(err)
	}
	if b.Thing != "sim-7" || b.CertificateID != ids["sim-7"].CertificateID || b.Observer {
		t.Fatalf("bundle %+v", b)
	}
	if b.Certificate.Leaf == nil || b.Certificate.PrivateKey == nil || len(b.Certificate.Certificate) != 1 {
		t.Fatal("tls.Certificate is incomplete")
	}
	if err := ca.verifyClient(b.Certificate.Leaf); err != nil {
		t.Fatal(err)
	}
}

func TestLoadBundlesFromManifest(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	ids := writeTestBundles(t, ca, dir, true, "sim-2", "sim-1", "observer-00")
	// A stray directory that the manifest does not list is ignored.
	if err := os.Mkdir(filepath.Join(dir, "stray"), 0o755); err != nil {
		t.Fatal(err)
	}
	roots, bundles, err := LoadBundles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if roots == nil {
		t.Fatal("roots is nil although root-ca.pem exists")
	}
	var names []string
	for _, b := range bundles {
		names = append(names, b.Thing)
		if b.CertificateID != ids[b.Thing].CertificateID {
			t.Errorf("%s: certificate ID %s, want %s", b.Thing, b.CertificateID, ids[b.Thing].CertificateID)
		}
		if b.Observer != (b.Thing == "observer-00") {
			t.Errorf("%s: Observer %v", b.Thing, b.Observer)
		}
		if _, err := b.Certificate.Leaf.Verify(verifyOpts(roots)); err != nil {
			t.Errorf("%s does not verify against the returned roots: %v", b.Thing, err)
		}
	}
	if got := strings.Join(names, ","); got != "sim-2,sim-1,observer-00" {
		t.Errorf("bundles in order %s, want manifest order", got)
	}
}

func TestLoadBundlesWithManifestAndNoRootCAUsesSystemRoots(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	writeTestBundles(t, ca, dir, true, "sim-1")
	remove(t, filepath.Join(dir, RootCAFileName))
	roots, bundles, err := LoadBundles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if roots != nil || len(bundles) != 1 {
		t.Fatalf("roots %v and %d bundles, want nil roots and 1 bundle", roots, len(bundles))
	}
}

func TestLoadBundlesWithoutManifestScansSubdirectories(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	writeTestBundles(t, ca, dir, false, "sim-b", "sim-a")
	// Directories without a certificate and key, and plain files, are skipped.
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	roots, bundles, err := LoadBundles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if roots == nil {
		t.Error("roots is nil although root-ca.pem exists")
	}
	if len(bundles) != 2 || bundles[0].Thing != "sim-a" || bundles[1].Thing != "sim-b" {
		t.Fatalf("bundles %v, want sim-a and sim-b sorted", bundles)
	}

	if err := os.Remove(filepath.Join(dir, RootCAFileName)); err != nil {
		t.Fatal(err)
	}
	roots, bundles, err = LoadBundles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if roots != nil {
		t.Error("roots should be nil (system roots) without root-ca.pem")
	}
	if len(bundles) != 2 {
		t.Errorf("%d bundles, want 2", len(bundles))
	}
}

func TestLoadBundlesErrorsNameTheFile(t *testing.T) {
	tests := []struct {
		name     string
		manifest bool
		breakIt  func(t *testing.T, dir string) string // returns the path the error must name
	}{
		{"manifest thing lacks certificate", true, func(t *testing.T, dir string) string {
			return remove(t, filepath.Join(dir, "sim-1", CertFileName))
		}},
		{"manifest thing lacks key", true, func(t *testing.T, dir string) string {
			return remove(t, filepath.Join(dir, "sim-1", PrivateKeyFileName))
		}},
		{"malformed root CA named by the manifest", true, func(t *testing.T, dir string) string {
			return overwrite(t, filepath.Join(dir, RootCAFileName), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
		}},
		{"malformed root CA", false, func(t *testing.T, dir string) string {
			return overwrite(t, filepath.Join(dir, RootCAFileName), "garbage")
		}},
		{"malformed certificate", false, func(t *testing.T, dir string) string {
			return overwrite(t, filepath.Join(dir, "sim-1", CertFileName), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
		}},
		{"malformed key", true, func(t *testing.T, dir string) string {
			return overwrite(t, filepath.Join(dir, "sim-1", PrivateKeyFileName), "not a key")
		}},
		{"key of another thing", false, func(t *testing.T, dir string) string {
			key, err := os.ReadFile(filepath.Join(dir, "sim-2", PrivateKeyFileName))
			if err != nil {
				t.Fatal(err)
			}
			return overwrite(t, filepath.Join(dir, "sim-1", PrivateKeyFileName), string(key))
		}},
		{"certificate replaced behind the manifest", true, func(t *testing.T, dir string) string {
			cert, err := os.ReadFile(filepath.Join(dir, "sim-2", CertFileName))
			if err != nil {
				t.Fatal(err)
			}
			key, err := os.ReadFile(filepath.Join(dir, "sim-2", PrivateKeyFileName))
			if err != nil {
				t.Fatal(err)
			}
			overwrite(t, filepath.Join(dir, "sim-1", PrivateKeyFileName), string(key))
			return overwrite(t, filepath.Join(dir, "sim-1", CertFileName), string(cert))
		}},
		{"malformed manifest", true, func(t *testing.T, dir string) string {
			return overwrite(t, filepath.Join(dir, ManifestFileName), "{")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ca := newTestCA(t)
			dir := t.TempDir()
			writeTestBundles(t, ca, dir, tc.manifest, "sim-1", "sim-2")
			path := tc.breakIt(t, dir)
			_, _, err := LoadBundles(dir)
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
		})
	}
}

func TestLoadBundlesEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	_, _, err := LoadBundles(dir)
	if !errors.Is(err, ErrNoBundles) {
		t.Fatalf("want ErrNoBundles, got %v", err)
	}
	_, _, err = LoadBundles(filepath.Join(dir, "absent"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "absent")) {
		t.Fatalf("want an error naming the absent directory, got %v", err)
	}
}

func remove(t *testing.T, path string) string {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func overwrite(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func verifyOpts(roots *x509.CertPool) x509.VerifyOptions {
	return x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
}

func TestWriteBundleCreatesOutDirAndDerivesPublicKey(t *testing.T) {
	ca := newTestCA(t)
	out := filepath.Join(t.TempDir(), "deep", "bundles")
	id, err := ca.Issue("sim-9", KeyECDSA)
	if err != nil {
		t.Fatal(err)
	}
	noPub := &Identity{CertPEM: id.CertPEM, KeyPEM: id.KeyPEM, CertificateID: id.CertificateID}
	if err := WriteBundle(out, "sim-9", noPub); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(out, "sim-9", PublicKeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, id.PublicKeyPEM) {
		t.Error("derived public key differs from the issued one")
	}
}

func TestWriteBundleRefusesAFileInPlaceOfTheDirectory(t *testing.T) {
	ca := newTestCA(t)
	out := t.TempDir()
	overwrite(t, filepath.Join(out, "sim-1"), "a file")
	id, err := ca.Issue("sim-1", KeyECDSA)
	if err != nil {
		t.Fatal(err)
	}
	err = WriteBundle(out, "sim-1", id)
	if err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("want a not-a-directory error, got %v", err)
	}
}

// TestLoadBundleAcceptsAWSKeyFormats loads keys written as the AWS console
// and OpenSSL write them: PKCS #1 for RSA and SEC 1 for ECDSA.
func TestLoadBundleAcceptsAWSKeyFormats(t *testing.T) {
	ca := newTestCA(t)
	for _, kt := range []KeyType{KeyECDSA, KeyRSA} {
		t.Run(string(kt), func(t *testing.T) {
			id, err := ca.Issue("aws-"+string(kt), kt)
			if err != nil {
				t.Fatal(err)
			}
			key, err := parsePrivateKeyPEM(id.KeyPEM, "issued")
			if err != nil {
				t.Fatal(err)
			}
			var block *pem.Block
			switch k := key.(type) {
			case *rsa.PrivateKey:
				block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
			case *ecdsa.PrivateKey:
				der, err := x509.MarshalECPrivateKey(k)
				if err != nil {
					t.Fatal(err)
				}
				block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
			}
			id.KeyPEM = pem.EncodeToMemory(block)
			dir := t.TempDir()
			if err := WriteBundle(dir, "aws-"+string(kt), id); err != nil {
				t.Fatal(err)
			}
			b, err := LoadBundle(filepath.Join(dir, "aws-"+string(kt)))
			if err != nil {
				t.Fatal(err)
			}
			if b.CertificateID != id.CertificateID {
				t.Errorf("certificate ID %s, want %s", b.CertificateID, id.CertificateID)
			}
		})
	}
}

func TestLoadBundleRejectsWrongPEMTypes(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	id, err := ca.Issue("sim-1", KeyECDSA)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteBundle(dir, "sim-1", id); err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(dir, "sim-1", CertFileName)
	keyPath := filepath.Join(dir, "sim-1", PrivateKeyFileName)
	// Swap the files: each now holds the other's block type.
	overwrite(t, certPath, string(id.KeyPEM))
	overwrite(t, keyPath, string(id.CertPEM))
	_, err = LoadBundle(filepath.Join(dir, "sim-1"))
	if err == nil || !strings.Contains(err.Error(), certPath) || !strings.Contains(err.Error(), "want CERTIFICATE") {
		t.Fatalf("error %v, want one naming %s and the expected block", err, certPath)
	}
	overwrite(t, certPath, string(id.CertPEM))
	_, err = LoadBundle(filepath.Join(dir, "sim-1"))
	if err == nil || !strings.Contains(err.Error(), keyPath) || !strings.Contains(err.Error(), "want PRIVATE KEY") {
		t.Fatalf("error %v, want one naming %s and the expected block", err, keyPath)
	}
}
