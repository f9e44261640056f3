package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/shadowload/shadowload/shadow"
)

// ManifestVersion is the manifest schema version this package reads and writes.
const ManifestVersion = 1

// Manifest describes a bundles directory: which things it holds, their
// certificates and policies, and where the root CA is. It is stored as
// OUT/manifest.json.
type Manifest struct {
	// Version is the schema version, ManifestVersion.
	Version int `json:"version"`
	// RootCA is the root CA file name relative to the bundles directory, or ""
	// when the bundles trust the system roots (as for real AWS).
	RootCA string `json:"root_ca"`
	// Endpoint is the MQTT endpoint the bundles were provisioned for, if known.
	Endpoint string `json:"endpoint,omitempty"`
	// Region is the AWS Region the things were provisioned in, when they
	// were provisioned through the AWS API.
	Region string `json:"region,omitempty"`
	// CreatedPolicies names the policies provisioning created (rather than
	// found), which deprovisioning deletes.
	CreatedPolicies []string `json:"created_policies,omitempty"`
	// Things lists the provisioned identities, one per thing, names unique.
	Things []ManifestThing `json:"things"`
}

// ManifestThing is one thing's entry in a Manifest.
type ManifestThing struct {
	// Name is the thing name, also the bundle's subdirectory name.
	Name string `json:"name"`
	// CertificateID is the AWS certificate ID of the thing's certificate.
	CertificateID string `json:"certificate_id"`
	// Policy is the name of the policy attached to the certificate.
	Policy string `json:"policy"`
	// Observer marks an application-side identity with wildcard rights.
	Observer bool `json:"observer,omitempty"`
}

// ReadManifest reads and checks OUT/manifest.json. When the file is absent the
// error wraps fs.ErrNotExist.
func ReadManifest(outDir string) (*Manifest, error) {
	path := filepath.Join(outDir, ManifestFileName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fleet: read manifest: %w", err)
	}
	return parseManifest(data, path)
}

// WriteManifest checks m and writes it as OUT/manifest.json atomically (a
// temporary file renamed over the old one), creating outDir if needed.
func WriteManifest(outDir string, m *Manifest) error {
	path := filepath.Join(outDir, ManifestFileName)
	if m == nil {
		return fmt.Errorf("fleet: write manifest %s: manifest is nil", path)
	}
	if err := m.validate(path); err != nil {
		return err
	}
	out := *m
	if out.Things == nil {
		out.Things = []ManifestThing{}
	}
	data, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return fmt.Errorf("fleet: encode manifest %s: %w", path, err)
	}
	data = append(data, '\n')
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("fleet: create bundles directory: %w", err)
	}
	return writeAtomic(path, data, 0o644)
}

// parseManifest decodes and checks a manifest; source names it in errors.
func parseManifest(data []byte, source string) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("fleet: manifest %s: invalid JSON: %w", source, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("fleet: manifest %s: data after the JSON object", source)
	}
	if err := m.validate(source); err != nil {
		return nil, err
	}
	return &m, nil
}

// validate checks the version, the root CA path and every thing entry.
func (m *Manifest) validate(source string) error {
	if m.Version != ManifestVersion {
		return fmt.Errorf("fleet: manifest %s: version %d, want %d", source, m.Version, ManifestVersion)
	}
	if m.RootCA != "" && !filepath.IsLocal(m.RootCA) {
		return fmt.Errorf("fleet: manifest %s: root_ca %q must be a file name inside the bundles directory", source, m.RootCA)
	}
	seen := make(map[string]int, len(m.Things))
	for i, t := range m.Things {
		if err := shadow.ValidateThingName(t.Name); err != nil {
			return fmt.Errorf("fleet: manifest %s: things[%d]: %w", source, i, err)
		}
		if j, dup := seen[t.Name]; dup {
			return fmt.Errorf("fleet: manifest %s: things[%d] and things[%d] both name %q", source, j, i, t.Name)
		}
		seen[t.Name] = i
		if !validCertificateID(t.CertificateID) {
			return fmt.Errorf("fleet: manifest %s: things[%d] (%s): certificate_id %q, want 64 lowercase hex characters", source, i, t.Name, t.CertificateID)
		}
	}
	return nil
}

// validCertificateID reports whether id has the shape of an AWS certificate ID.
func validCertificateID(id string) bool {
	if len(id) != 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
