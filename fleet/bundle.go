package fleet

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/shadowload/shadowload/shadow"
)

// File names of a bundles directory, the layout `shadowload provision` writes:
//
//	OUT/root-ca.pem
//	OUT/manifest.json
//	OUT/<thing>/certificate.pem.crt
//	OUT/<thing>/private.pem.key   (mode 0600)
//	OUT/<thing>/public.pem.key
const (
	// RootCAFileName is the root CA certificate in the bundles directory.
	RootCAFileName = "root-ca.pem"
	// ManifestFileName is the manifest in the bundles directory.
	ManifestFileName = "manifest.json"
	// CertFileName is a thing's certificate inside its bundle directory.
	CertFileName = "certificate.pem.crt"
	// PrivateKeyFileName is a thing's private key inside its bundle directory.
	PrivateKeyFileName = "private.pem.key"
	// PublicKeyFileName is a thing's public key inside its bundle directory.
	PublicKeyFileName = "public.pem.key"
)

// ErrNoBundles is returned (wrapped) by LoadBundles for a directory that has no
// manifest and no subdirectory holding a certificate and a private key.
var ErrNoBundles = errors.New("no bundles found")

// Bundle is one loaded identity, ready for tls.Config.
type Bundle struct {
	// Thing is the thing name: the manifest entry's name, or the bundle
	// directory's base name.
	Thing string
	// Observer marks an application-side identity (from the manifest).
	Observer bool
	// CertificateID is the AWS certificate ID of the certificate.
	CertificateID string
	// Certificate is the certificate and key, with Leaf set.
	Certificate tls.Certificate
}

// WriteBundle writes id as OUT/<thing>/: certificate.pem.crt, private.pem.key
// (mode 0600) and public.pem.key, creating the directories as needed and
// replacing an older bundle. The certificate is written last, so a bundle
// interrupted part-way has no certificate or one that does not match its key.
func WriteBundle(outDir, thing string, id *Identity) error {
	if err := shadow.ValidateThingName(thing); err != nil {
		return fmt.Errorf("fleet: write bundle: %w", err)
	}
	if id == nil || len(id.CertPEM) == 0 || len(id.KeyPEM) == 0 {
		return fmt.Errorf("fleet: write bundle %q: identity lacks a certificate or a key", thing)
	}
	pub := id.PublicKeyPEM
	if len(pub) == 0 {
		var err error
		if pub, err = publicKeyPEMOf(id.CertPEM, thing); err != nil {
			return err
		}
	}
	dir := filepath.Join(outDir, thing)
	fresh, err := makeBundleDir(outDir, dir)
	if err != nil {
		return fmt.Errorf("fleet: write bundle %q: %w", thing, err)
	}
	return writeBundleFiles(dir, id.CertPEM, id.KeyPEM, pub, fresh)
}

// WriteRootCA writes the PEM certificates bundles trust for the server as
// OUT/root-ca.pem, atomically, creating outDir if needed.
func WriteRootCA(outDir string, certPEM []byte) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("fleet: create bundles directory: %w", err)
	}
	return writeAtomic(filepath.Join(outDir, RootCAFileName), certPEM, 0o644)
}

// RemoveBundle deletes OUT/<thing>/ when it holds nothing but a bundle's
// files, and reports whether it did; anything else there keeps it.
func RemoveBundle(outDir, thing string) (bool, error) {
	if err := shadow.ValidateThingName(thing); err != nil {
		return false, fmt.Errorf("fleet: remove bundle: %w", err)
	}
	dir := filepath.Join(outDir, thing)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("fleet: remove bundle: %w", err)
	}
	for _, e := range entries {
		switch e.Name() {
		case CertFileName, PrivateKeyFileName, PublicKeyFileName:
		default:
			return false, nil
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return false, fmt.Errorf("fleet: remove bundle: %w", err)
	}
	return true, nil
}

// makeBundleDir creates dir (and outDir if needed) and reports whether dir is
// new, in which case it holds no files yet.
func makeBundleDir(outDir, dir string) (fresh bool, err error) {
	err = os.Mkdir(dir, 0o755)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(outDir, 0o755); err != nil {
			return false, err
		}
		err = os.Mkdir(dir, 0o755)
	}
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrExist):
		info, serr := os.Stat(dir)
		if serr != nil {
			return false, serr
		}
		if !info.IsDir() {
			return false, fmt.Errorf("%s exists and is not a directory", dir)
		}
		return false, nil
	}
	return false, err
}

// writeBundleFiles writes the key, public key and certificate into dir, each
// with one open, write and close. The key's mode is set explicitly only when
// the directory was not fresh, since an older key file keeps its mode.
func writeBundleFiles(dir string, certPEM, keyPEM, pubPEM []byte, fresh bool) error {
	if err := writeFile(filepath.Join(dir, PrivateKeyFileName), keyPEM, 0o600, !fresh); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, PublicKeyFileName), pubPEM, 0o644, false); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, CertFileName), certPEM, 0o644, false)
}

// publicKeyPEMOf derives the PUBLIC KEY PEM from a certificate PEM.
func publicKeyPEMOf(certPEM []byte, thing string) ([]byte, error) {
	cert, err := parseCertificatePEM(certPEM, "certificate of "+thing)
	if err != nil {
		return nil, fmt.Errorf("fleet: write bundle: %w", err)
	}
	return encodePublicKey(cert.PublicKey)
}

// LoadBundle loads one thing's bundle directory (the CLI's --bundle):
// certificate.pem.crt and private.pem.key. The thing name is the directory's
// base name. Errors name the exact missing or malformed file.
func LoadBundle(dir string) (Bundle, error) {
	dir = filepath.Clean(dir)
	certPath := filepath.Join(dir, CertFileName)
	keyPath := filepath.Join(dir, PrivateKeyFileName)
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return Bundle{}, fmt.Errorf("fleet: load bundle: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return Bundle{}, fmt.Errorf("fleet: load bundle: %w", err)
	}
	leaf, err := parseCertificatePEM(certPEM, certPath)
	if err != nil {
		return Bundle{}, fmt.Errorf("fleet: load bundle: %w", err)
	}
	key, err := parsePrivateKeyPEM(keyPEM, keyPath)
	if err != nil {
		return Bundle{}, fmt.Errorf("fleet: load bundle: %w", err)
	}
	if !samePublicKey(key, leaf.PublicKey) {
		return Bundle{}, fmt.Errorf("fleet: load bundle: private key %s does not match certificate %s", keyPath, certPath)
	}
	return Bundle{
		Thing:         filepath.Base(dir),
		CertificateID: CertificateID(leaf.Raw),
		Certificate: tls.Certificate{
			Certificate: certificateChain(certPEM),
			PrivateKey:  key,
			Leaf:        leaf,
		},
	}, nil
}

// certificateChain returns the DER of every CERTIFICATE block in data, the
// leaf first, so a certificate file that carries intermediates sends them.
func certificateChain(data []byte) [][]byte {
	var chain [][]byte
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return chain
		}
		if block.Type == "CERTIFICATE" {
			chain = append(chain, block.Bytes)
		}
	}
}

// LoadBundles reads a bundles directory: the things of OUT/manifest.json when
// present, otherwise every subdirectory holding certificate.pem.crt and
// private.pem.key, sorted by name. It returns the root CA pool, nil when the
// root CA file (the manifest's root_ca, otherwise OUT/root-ca.pem) is absent
// or root_ca is empty: then the system roots apply, as for real AWS. With a
// manifest, every thing's certificate must have the ID the manifest records.
// Errors name the exact missing or malformed file.
func LoadBundles(outDir string) (roots *x509.CertPool, bundles []Bundle, err error) {
	m, err := ReadManifest(outDir)
	switch {
	case err == nil:
		return loadFromManifest(outDir, m)
	case errors.Is(err, fs.ErrNotExist):
		return scanBundles(outDir)
	}
	return nil, nil, err
}

func loadFromManifest(outDir string, m *Manifest) (*x509.CertPool, []Bundle, error) {
	var roots *x509.CertPool
	if m.RootCA != "" {
		var err error
		if roots, err = optionalRoots(filepath.Join(outDir, m.RootCA)); err != nil {
			return nil, nil, err
		}
	}
	manifestPath := filepath.Join(outDir, ManifestFileName)
	bundles := make([]Bundle, 0, len(m.Things))
	for _, t := range m.Things {
		b, err := LoadBundle(filepath.Join(outDir, t.Name))
		if err != nil {
			return nil, nil, fmt.Errorf("%w (thing %q of %s)", err, t.Name, manifestPath)
		}
		if b.CertificateID != t.CertificateID {
			return nil, nil, fmt.Errorf("fleet: load bundles: %s has certificate ID %s but %s records %s for %q",
				filepath.Join(outDir, t.Name, CertFileName), b.CertificateID, manifestPath, t.CertificateID, t.Name)
		}
		b.Thing = t.Name
		b.Observer = t.Observer
		bundles = append(bundles, b)
	}
	return roots, bundles, nil
}

func scanBundles(outDir string) (*x509.CertPool, []Bundle, error) {
	entries, err := os.ReadDir(outDir)
	if err != nil {
		return nil, nil, fmt.Errorf("fleet: load bundles: %w", err)
	}
	roots, err := optionalRoots(filepath.Join(outDir, RootCAFileName))
	if err != nil {
		return nil, nil, err
	}
	var bundles []Bundle
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(outDir, e.Name())
		certOK, err := fileExists(filepath.Join(dir, CertFileName))
		if err != nil {
			return nil, nil, err
		}
		keyOK, err := fileExists(filepath.Join(dir, PrivateKeyFileName))
		if err != nil {
			return nil, nil, err
		}
		if !certOK || !keyOK {
			continue
		}
		b, err := LoadBundle(dir)
		if err != nil {
			return nil, nil, err
		}
		bundles = append(bundles, b)
	}
	if len(bundles) == 0 {
		return nil, nil, fmt.Errorf("fleet: load bundles from %s: %w: no %s and no subdirectory holding %s and %s",
			outDir, ErrNoBundles, ManifestFileName, CertFileName, PrivateKeyFileName)
	}
	slices.SortFunc(bundles, func(a, b Bundle) int { return cmp.Compare(a.Thing, b.Thing) })
	return roots, bundles, nil
}

// optionalRoots is loadRoots with an absent file meaning the system roots (nil).
func optionalRoots(path string) (*x509.CertPool, error) {
	roots, err := loadRoots(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return roots, err
}

// loadRoots reads every certificate of a PEM file into a pool. A missing file's
// error wraps fs.ErrNotExist.
func loadRoots(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fleet: load root CA: %w", err)
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("fleet: load root CA %s: certificate %d: %w", path, n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("fleet: load root CA %s: no CERTIFICATE PEM block found", path)
	}
	return pool, nil
}
