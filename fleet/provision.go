package fleet

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// Default name patterns used by Provision.
const (
	// DefaultThingPattern names simulated devices: sim-00000, sim-00001, ...
	DefaultThingPattern = "sim-{i:05}"
	// DefaultObserverPattern names observers: observer-00, observer-01, ...
	DefaultObserverPattern = "observer-{i:02}"
)

// Registrar is where Provision registers things, certificates and policies
// made by a local CA: the emulator's registry. A real AWS account is
// provisioned by package fleet/awsiot instead, with keys and certificates
// AWS makes.
type Registrar interface {
	// EnsurePolicy creates the named policy (or accepts an identical existing one).
	// It returns an error for a malformed policy document.
	EnsurePolicy(ctx context.Context, name, document string) error
	// RegisterThing creates the thing (if absent), registers certPEM as an ACTIVE
	// certificate, attaches the certificate to the thing and the policy to the
	// certificate, and returns the certificate ID.
	//
	// It must be idempotent: Provision calls it again, with the same
	// certificate, for every bundle it reuses. It is called from several
	// goroutines at once (ProvisionOptions.Workers).
	RegisterThing(ctx context.Context, thing string, certPEM []byte, policy string) (string, error)
}

// ProvisionOptions configures Provision. The zero value of every field but
// Things and OutDir means its documented default.
type ProvisionOptions struct {
	// Things is how many identities to provision, at least 1.
	Things int
	// FirstIndex is the index of the first thing (default 0), so a fleet can be
	// grown or provisioned in shards.
	FirstIndex int
	// NamePattern names thing i (see ThingName); default DefaultThingPattern,
	// or DefaultObserverPattern for observers.
	NamePattern string
	// OutDir is the bundles directory; it is created if needed.
	OutDir string
	// PolicyName is the policy attached to every certificate; default
	// DefaultThingPolicyName, or DefaultObserverPolicyName for observers.
	PolicyName string
	// Policy is the policy document; default DefaultThingPolicy, or
	// DefaultObserverPolicy for observers.
	Policy string
	// Key is the key type of new identities; default KeyECDSA.
	Key KeyType
	// Observer provisions application-side identities with wildcard rights
	// (marked Observer in the manifest) instead of simulated devices.
	Observer bool
	// Endpoint, when set, is recorded in the manifest.
	Endpoint string
	// Workers is how many things are provisioned in parallel; default
	// GOMAXPROCS. Raise it for a registrar with network latency.
	Workers int
	// Progress, when set, is called after each thing with the count done so
	// far and the total, from the goroutine that called Provision.
	Progress func(done, total int)
}

// withDefaults validates the options and fills in the defaults; it
// returns the thing names in index order.
func (o ProvisionOptions) withDefaults() (ProvisionOptions, []string, error) {
	n := Naming{Things: o.Things, FirstIndex: o.FirstIndex, OutDir: o.OutDir,
		NamePattern: o.NamePattern, PolicyName: o.PolicyName, Policy: o.Policy, Observer: o.Observer}
	names, err := n.Resolve()
	if err != nil {
		return o, nil, fmt.Errorf("fleet: provision: %w", err)
	}
	o.NamePattern, o.PolicyName, o.Policy = n.NamePattern, n.PolicyName, n.Policy
	kt, err := o.Key.normalize()
	if err != nil {
		return o, nil, fmt.Errorf("fleet: provision: %w", err)
	}
	o.Key = kt
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	o.Workers = min(o.Workers, o.Things)
	return o, names, nil
}

// provisionJob is one thing for a worker.
type provisionJob struct {
	index int // position in the run, 0-based
	name  string
}

// provisionResult is a worker's answer for one job.
type provisionResult struct {
	index int
	entry ManifestThing
	err   error
}

// Provision creates or reuses the bundles of opts.Things identities in
// opts.OutDir and registers them with reg. A thing whose bundle already exists
// in OutDir, holding a certificate for the thing name issued by ca with a key of
// the requested type, is reused, not reissued, and registered again (which a
// Registrar accepts idempotently); any other thing gets a new identity. It
// ensures the policy first, writes OUT/root-ca.pem, and merges the things into
// an existing OUT/manifest.json (other entries are kept, entries of the same
// name replaced, new ones appended in index order).
//
// On an error or a cancelled ctx it stops issuing, still records the things that
// completed in the manifest, and returns the first error. Runs into the same
// OutDir must not overlap: the last one to finish writes the manifest.
func Provision(ctx context.Context, ca *CA, reg Registrar, opts ProvisionOptions) (*Manifest, error) {
	if ca == nil || reg == nil {
		return nil, errors.New("fleet: provision: CA and registrar are required")
	}
	opts, names, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	base, err := ReadManifest(opts.OutDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		base = &Manifest{Version: ManifestVersion}
	case err != nil:
		return nil, fmt.Errorf("%w (fix or remove it before provisioning into %s)", err, opts.OutDir)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fleet: provision: %w", err)
	}
	if err := reg.EnsurePolicy(ctx, opts.PolicyName, opts.Policy); err != nil {
		return nil, fmt.Errorf("fleet: provision: ensure policy %q: %w", opts.PolicyName, err)
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("fleet: provision: create bundles directory: %w", err)
	}
	if err := writeAtomic(filepath.Join(opts.OutDir, RootCAFileName), ca.CertPEM(), 0o644); err != nil {
		return nil, fmt.Errorf("fleet: provision: %w", err)
	}

	entries, runErr := runProvision(ctx, ca, reg, opts, names)

	m := mergeManifest(base, entries, opts.Endpoint)
	if err := WriteManifest(opts.OutDir, m); err != nil {
		return nil, errors.Join(runErr, err)
	}
	if runErr != nil {
		return nil, runErr
	}
	return m, nil
}

// runProvision fans the things out to opts.Workers workers and gathers the
// results in index order; entries of things that failed or never ran are
// left zero (empty Name).
func runProvision(parent context.Context, ca *CA, reg Registrar, opts ProvisionOptions, names []string) ([]ManifestThing, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	jobs := make(chan provisionJob)
	results := make(chan provisionResult, opts.Workers)
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Go(func() {
			for j := range jobs {
				entry, err := provisionOne(ctx, ca, reg, opts, j.name)
				results <- provisionResult{index: j.index, entry: entry, err: err}
			}
		})
	}
	go func() {
		defer close(jobs)
		for k, name := range names {
			select {
			case jobs <- provisionJob{index: k, name: name}:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()

	entries := make([]ManifestThing, len(names))
	var firstErr error
	done := 0
	for r := range results {
		if r.err != nil {
			// Failures caused by the caller's cancellation are summed up below.
			if firstErr == nil && parent.Err() == nil {
				firstErr = r.err
				cancel()
			}
			continue
		}
		entries[r.index] = r.entry
		done++
		if opts.Progress != nil {
			opts.Progress(done, len(names))
		}
	}
	if firstErr == nil && done < len(names) {
		firstErr = fmt.Errorf("fleet: provision: stopped after %d of %d things: %w", done, len(names), parent.Err())
	}
	return entries, firstErr
}

// provisionOne reuses or issues the identity of one thing, writes its bundle
// and registers it.
func provisionOne(ctx context.Context, ca *CA, reg Registrar, opts ProvisionOptions, name string) (ManifestThing, error) {
	if err := ctx.Err(); err != nil {
		return ManifestThing{}, fmt.Errorf("fleet: provision %q: %w", name, err)
	}
	dir := filepath.Join(opts.OutDir, name)
	fresh, err := makeBundleDir(opts.OutDir, dir)
	if err != nil {
		return ManifestThing{}, fmt.Errorf("fleet: provision %q: %w", name, err)
	}
	var id *Identity
	ok := false
	if !fresh {
		id, ok = reusableIdentity(ca, dir, name, opts.Key)
	}
	if !ok {
		if id, err = ca.Issue(name, opts.Key); err != nil {
			return ManifestThing{}, fmt.Errorf("fleet: provision %q: %w", name, err)
		}
		if err := writeBundleFiles(dir, id.CertPEM, id.KeyPEM, id.PublicKeyPEM, fresh); err != nil {
			return ManifestThing{}, fmt.Errorf("fleet: provision %q: %w", name, err)
		}
	}
	certID, err := reg.RegisterThing(ctx, name, id.CertPEM, opts.PolicyName)
	if err != nil {
		return ManifestThing{}, fmt.Errorf("fleet: provision %q: register certificate %s: %w", name, shortID(id.CertificateID), err)
	}
	if certID != id.CertificateID {
		return ManifestThing{}, fmt.Errorf("fleet: provision %q: registrar returned certificate ID %q, want %s (SHA-256 of the certificate)", name, certID, id.CertificateID)
	}
	return ManifestThing{Name: name, CertificateID: certID, Policy: opts.PolicyName, Observer: opts.Observer}, nil
}

// reusableIdentity loads the bundle in dir when it is complete and fit for
// reuse: certificate and key match, the certificate names the thing, chains
// to ca for client authentication and has a key of type kt. A missing or
// wrong public.pem.key is rewritten. Anything else means "issue a new one".
func reusableIdentity(ca *CA, dir, name string, kt KeyType) (*Identity, bool) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CertFileName))
	if err != nil {
		return nil, false
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, PrivateKeyFileName))
	if err != nil {
		return nil, false
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil || pair.Leaf == nil {
		return nil, false
	}
	leaf := pair.Leaf
	if leaf.Subject.CommonName != name || keyTypeOf(leaf) != kt || ca.verifyClient(leaf) != nil {
		return nil, false
	}
	pubPEM, err := encodePublicKey(leaf.PublicKey)
	if err != nil {
		return nil, false
	}
	pubPath := filepath.Join(dir, PublicKeyFileName)
	if have, err := os.ReadFile(pubPath); err != nil || !bytes.Equal(have, pubPEM) {
		if writeFile(pubPath, pubPEM, 0o644, false) != nil {
			return nil, false
		}
	}
	return &Identity{
		CertPEM:       certPEM,
		KeyPEM:        keyPEM,
		PublicKeyPEM:  pubPEM,
		CertificateID: CertificateID(leaf.Raw),
	}, true
}

// mergeManifest returns base with the provisioned entries merged in: an entry
// replaces the one of the same name in place, and new names are appended in
// index order. Zero entries (things that did not complete) are skipped.
func mergeManifest(base *Manifest, entries []ManifestThing, endpoint string) *Manifest {
	m := &Manifest{
		Version:         ManifestVersion,
		RootCA:          RootCAFileName,
		Endpoint:        base.Endpoint,
		Region:          base.Region,
		CreatedPolicies: base.CreatedPolicies,
		Things:          append([]ManifestThing(nil), base.Things...),
	}
	if endpoint != "" {
		m.Endpoint = endpoint
	}
	pos := make(map[string]int, len(m.Things))
	for i, t := range m.Things {
		pos[t.Name] = i
	}
	for _, e := range entries {
		if e.Name == "" {
			continue
		}
		if i, ok := pos[e.Name]; ok {
			m.Things[i] = e
			continue
		}
		pos[e.Name] = len(m.Things)
		m.Things = append(m.Things, e)
	}
	return m
}
