package emulator

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/policy"
)

var _ fleet.Registrar = (*Registry)(nil)

// RegistryFileName is the registry log's name inside the data directory.
const RegistryFileName = "registry.log"

// RegistryLockName is the lock file every process holds while it appends to
// or compacts the registry log.
const RegistryLockName = "registry.lock"

// defaultCompactLines is the log length from which Refresh compacts.
const defaultCompactLines = 1000

// Thing is a registered thing.
type Thing struct {
	Name string
	// ID is the thingId AWS gives a thing: UUID-shaped, fixed at creation.
	ID string
	// Attributes are the thing's attributes, nil when it has none.
	Attributes map[string]string
	// Version is the thing's version, 1 from its creation.
	Version int64
	// Created is when the thing was created.
	Created time.Time
	// Certificates are the IDs of the certificates attached to it, in the
	// order they were attached.
	Certificates []string
	// derivedID says ID was derived from the name, not recorded.
	derivedID bool
}

// Certificate is a registered certificate.
type Certificate struct {
	ID     string // lowercase hex SHA-256 of the DER bytes
	PEM    []byte
	Status CertStatus
	// Thing is the first thing it is attached to, "" when none: the one
	// whose name ${iot:Connection.Thing.ThingName} resolves to when it
	// equals the client ID.
	Thing string
	// Things are all the things it is attached to, in attach order.
	Things   []string
	Policies []string // names of the policies attached to it
	// Created and Modified are when it was registered and when its status
	// last changed.
	Created, Modified time.Time
}

// policyEntry is a policy as stored and as parsed.
type policyEntry struct {
	document          string
	parsed            *policy.Document
	created, modified time.Time
}

// certEntry is a certificate and the policy set derived from its policies,
// cached for the registry generation it was built in.
type certEntry struct {
	Certificate
	set    *policy.Set
	setGen uint64
}

// registryState is what the registry log's records add up to.
type registryState struct {
	things   map[string]*Thing
	certs    map[string]*certEntry
	policies map[string]*policyEntry
	// loose counts the things compaction writes a record of their own for
	// (see Thing.foldsIntoCert).
	loose int
}

func newRegistryState() registryState {
	return registryState{things: map[string]*Thing{}, certs: map[string]*certEntry{}, policies: map[string]*policyEntry{}}
}

// Registry holds things, certificates and policies. It is persisted as an
// append-only log, DATA/registry.log, that any number of processes append to;
// every Registry applies the log by reading what was appended since it last
// looked (Refresh), so records written by another process appear here on the
// next Refresh. When the log holds far more records than its state needs,
// Refresh compacts it: it writes one record per policy and certificate to a
// new file and renames it over the log, holding DATA/registry.lock, which
// every append holds too, so no process appends to a replaced file; the
// others see the rename and re-read the log from its start. It implements
// fleet.Registrar. Its methods are safe for concurrent use.
type Registry struct {
	path string

	mu sync.RWMutex
	registryState
	gen atomic.Uint64 // bumped by every record that can change a live connection's permissions

	tailMu sync.Mutex // serialises Refresh and guards the fields below
	rf     *os.File
	offset int64
	line   int
	closed bool
	wf     *os.File
	lock   *os.File // DATA/registry.lock, held across appends and compaction
	// compactLines is the log length, in records, from which Refresh
	// compacts a log that holds more than twice the records its state
	// needs; 0 never compacts.
	compactLines int
	watchMu      sync.Mutex
	watch        []func(certID string, status CertStatus)
}

// OpenRegistry opens (creating if needed) the registry in dataDir and applies
// its log. It needs no running broker: the provisioning command uses it to
// register things for an emulator that runs in another process.
func OpenRegistry(dataDir string) (*Registry, error) {
	if dataDir == "" {
		return nil, errors.New("emulator: registry data directory is empty, want a path")
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("emulator: create data directory: %w", err)
	}
	path := filepath.Join(dataDir, RegistryFileName)
	wf, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("emulator: open registry for append: %w", err)
	}
	rf, err := os.Open(path)
	if err != nil {
		_ = wf.Close()
		return nil, fmt.Errorf("emulator: open registry for reading: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dataDir, RegistryLockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		_ = wf.Close()
		_ = rf.Close()
		return nil, fmt.Errorf("emulator: open registry lock: %w", err)
	}
	r := &Registry{path: path, wf: wf, rf: rf, lock: lock, registryState: newRegistryState(), compactLines: defaultCompactLines}
	if !canLockFiles {
		r.compactLines = 0
	}
	r.gen.Add(1)
	if _, err := r.Refresh(); err != nil {
		_ = r.Close()
		return nil, err
	}
	return r, nil
}

// Path returns the registry log's path.
func (r *Registry) Path() string { return r.path }

// Close releases the registry's files.
func (r *Registry) Close() error {
	r.tailMu.Lock()
	defer r.tailMu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	return errors.Join(r.wf.Close(), r.rf.Close(), r.lock.Close())
}

// onStatusChange registers fn to be called after a record changes a
// certificate's status, whichever process wrote it.
func (r *Registry) onStatusChange(fn func(certID string, status CertStatus)) {
	r.watchMu.Lock()
	r.watch = append(r.watch, fn)
	r.watchMu.Unlock()
}

// Generation changes whenever a record may change what a registered
// certificate is allowed (a policy, a status, a certificate's policies);
// caches derived from the registry compare it to know they are stale.
func (r *Registry) Generation() uint64 { return r.gen.Load() }

// Certificate returns the certificate with the given ID.
func (r *Registry) Certificate(id string) (Certificate, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.certs[id]
	if !ok {
		return Certificate{}, false
	}
	return c.clone(), true
}

// Thing returns the thing with the given name.
func (r *Registry) Thing(name string) (Thing, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.things[name]
	if !ok {
		return Thing{}, false
	}
	return t.clone(), true
}

// Things returns the names of all things, sorted.
func (r *Registry) Things() []string {
	r.mu.RLock()
	names := make([]string, 0, len(r.things))
	for n := range r.things {
		names = append(names, n)
	}
	r.mu.RUnlock()
	sort.Strings(names)
	return names
}

// Policy returns the document of the named policy.
func (r *Registry) Policy(name string) (string, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.policies[name]
	if !ok {
		return "", false
	}
	return p.document, true
}

// policySet returns the certificate's status and the set of its policies,
// building the set at most once per registry generation.
func (r *Registry) policySet(certID string) (CertStatus, string, *policy.Set, bool) {
	gen := r.gen.Load()
	r.mu.RLock()
	c, ok := r.certs[certID]
	if ok && c.set != nil && c.setGen == gen {
		status, thing, set := c.Status, c.Thing, c.set
		r.mu.RUnlock()
		return status, thing, set, true
	}
	r.mu.RUnlock()
	if !ok {
		return "", "", nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok = r.certs[certID]
	if !ok {
		return "", "", nil, false
	}
	docs := make([]*policy.Document, 0, len(c.Policies))
	for _, name := range c.Policies {
		if p, ok := r.policies[name]; ok {
			docs = append(docs, p.parsed)
		}
	}
	c.set, c.setGen = policy.NewSet(docs...), gen
	return c.Status, c.Thing, c.set, true
}

// EnsurePolicy creates the named policy, or replaces its document when it
// differs. A document that does not parse as an AWS IoT policy is refused with
// the parse error.
func (r *Registry) EnsurePolicy(ctx context.Context, name, document string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validatePolicyName(name); err != nil {
		return err
	}
	if _, err := policy.Parse([]byte(document)); err != nil {
		return fmt.Errorf("emulator: policy %q: %w", name, err)
	}
	if _, err := r.Refresh(); err != nil {
		return err
	}
	if doc, ok := r.Policy(name); ok && doc == document {
		return nil
	}
	return r.append(record{Op: opPolicy, Name: name, Document: document})
}

// RegisterThing creates the thing if needed, registers the PEM certificate as
// ACTIVE, attaches it to the thing and attaches the named policy (which must
// exist) to it. It returns the certificate ID. Registering the same
// certificate for the same thing again only attaches the policy.
func (r *Registry) RegisterThing(ctx context.Context, thing string, certPEM []byte, policyName string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := validateThingName(thing); err != nil {
		return "", err
	}
	id, err := certificateIDFromPEM(certPEM)
	if err != nil {
		return "", fmt.Errorf("emulator: register thing %q: %w", thing, err)
	}
	if _, err := r.Refresh(); err != nil {
		return "", err
	}
	if _, ok := r.Policy(policyName); !ok {
		return "", fmt.Errorf("emulator: register thing %q: policy %q does not exist; create it with EnsurePolicy first", thing, policyName)
	}
	if c, ok := r.Certificate(id); ok {
		if c.Thing != thing {
			return "", fmt.Errorf("emulator: register thing %q: certificate %s is already attached to thing %q", thing, id, c.Thing)
		}
		if slices.Contains(c.Policies, policyName) {
			return id, nil
		}
	}
	rec := record{Op: opRegister, Thing: thing, Cert: id, PEM: string(certPEM), Policies: []string{policyName}, Status: StatusActive}
	if err := r.append(rec); err != nil {
		return "", err
	}
	return id, nil
}

// SetCertificateStatus sets a certificate's status. When a certificate leaves
// ACTIVE, an emulator using this registry, or one in another process tailing
// the same data directory, closes that certificate's live connections.
func (r *Registry) SetCertificateStatus(id string, status CertStatus) error {
	if !status.Valid() {
		return fmt.Errorf("emulator: certificate status %q: want ACTIVE, INACTIVE, REVOKED, PENDING_ACTIVATION, PENDING_TRANSFER or REGISTER_INACTIVE", status)
	}
	if _, err := r.Refresh(); err != nil {
		return err
	}
	c, ok := r.Certificate(id)
	if !ok {
		return fmt.Errorf("emulator: set status of certificate %s: not registered", id)
	}
	if c.Status == status {
		return nil
	}
	return r.append(record{Op: opStatus, Cert: id, Status: status})
}

func certificateIDFromPEM(certPEM []byte) (string, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return "", errors.New("certificate: want a PEM CERTIFICATE block")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return "", fmt.Errorf("certificate: %w", err)
	}
	return fleet.CertificateID(block.Bytes), nil
}

// validateThingName applies AWS's rule: 1-128 characters of [a-zA-Z0-9:_-].
func validateThingName(name string) error {
	if len(name) == 0 || len(name) > 128 {
		return fmt.Errorf("emulator: thing name %q: want 1-128 characters", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '_' || c == '-') {
			return fmt.Errorf("emulator: thing name %q: character %q at %d not in [a-zA-Z0-9:_-]", name, c, i)
		}
	}
	return nil
}

// validatePolicyName applies AWS's rule: 1-128 characters of [\w+=,.@-].
func validatePolicyName(name string) error {
	if len(name) == 0 || len(name) > 128 {
		return fmt.Errorf("emulator: policy name %q: want 1-128 characters", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' ||
			c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-') {
			return fmt.Errorf("emulator: policy name %q: character %q at %d not in [a-zA-Z0-9_+=,.@-]", name, c, i)
		}
	}
	return nil
}
