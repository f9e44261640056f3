package emulator

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/shadowload/shadowload/internal/policy"
)

// Kinds of registry refusals; a *RegistryError wraps one, and the HTTP API
// maps each to its AWS error type.
var (
	// ErrNotFound: the thing, certificate or policy does not exist
	// (ResourceNotFoundException).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a thing or policy of that name exists with other
	// contents (ResourceAlreadyExistsException).
	ErrAlreadyExists = errors.New("already exists")
	// ErrDeleteConflict: still attached to something
	// (DeleteConflictException).
	ErrDeleteConflict = errors.New("delete conflict")
	// ErrCertificateState: the certificate's status forbids the operation
	// (CertificateStateException).
	ErrCertificateState = errors.New("certificate state")
	// ErrInvalidRequest: the request breaks a rule of the registry
	// (InvalidRequestException).
	ErrInvalidRequest = errors.New("invalid request")
	// ErrVersionConflict: the thing's version is not the expected one
	// (VersionConflictException).
	ErrVersionConflict = errors.New("version conflict")
	// ErrLimitExceeded: a registry quota is reached (LimitExceededException).
	ErrLimitExceeded = errors.New("limit exceeded")
	// ErrMalformedPolicy: the policy document does not parse
	// (MalformedPolicyException).
	ErrMalformedPolicy = errors.New("malformed policy")
)

// RegistryError is a registry refusal: one of the Err* kinds and the
// message AWS gives for it.
type RegistryError struct {
	Kind    error
	Message string
}

func (e *RegistryError) Error() string { return e.Message }

// Unwrap returns the kind, so errors.Is(err, ErrNotFound) works.
func (e *RegistryError) Unwrap() error { return e.Kind }

func refusal(kind error, format string, args ...any) error {
	return &RegistryError{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Registry quotas the API enforces.
const (
	// MaxPoliciesPerCertificate is AWS's limit of policies attached to one
	// certificate.
	MaxPoliciesPerCertificate = 10
	// MaxThingAttributes is AWS's limit of attributes of a thing without a
	// thing type.
	MaxThingAttributes = 3
	// maxPolicyDocumentChars bounds a policy document, white space excluded.
	maxPolicyDocumentChars = 2048
)

// PolicyInfo is a registered policy.
type PolicyInfo struct {
	Name, Document    string
	Created, Modified time.Time
}

// mutate appends the record build returns. build decides on the registry's
// state as of the whole log, read under the registry's file lock, so no
// record of another process slips between its check and the append. A nil
// record with a nil error appends nothing (the operation changes nothing).
func (r *Registry) mutate(build func(st *registryState) (*record, error)) error {
	r.tailMu.Lock()
	if r.closed {
		r.tailMu.Unlock()
		return errors.New("emulator: registry is closed")
	}
	var (
		changed []statusChange
		refused error
	)
	err := r.withFileLock(func() error {
		if _, _, err := r.catchUp(&changed); err != nil {
			return err
		}
		r.mu.RLock()
		rec, err := build(&r.registryState)
		r.mu.RUnlock()
		if err != nil || rec == nil {
			refused = err
			return nil
		}
		rec.Time = time.Now().Unix()
		line, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("encode registry record: %w", err)
		}
		line = append(line, '\n')
		if len(line) > maxRecordSize {
			return fmt.Errorf("registry record of %d bytes exceeds %d", len(line), maxRecordSize)
		}
		if err := r.reopenWriterIfReplaced(); err != nil {
			return err
		}
		_, err = r.wf.Write(line)
		return err
	})
	r.tailMu.Unlock()
	r.notify(changed)
	if err != nil {
		return fmt.Errorf("emulator: append to %s: %w", r.path, err)
	}
	if refused != nil {
		return refused
	}
	_, err = r.Refresh()
	return err
}

// CreateThing creates a thing with attrs. Creating an existing thing with
// the same attributes succeeds and returns it; with other attributes it is
// refused ErrAlreadyExists, as AWS does.
func (r *Registry) CreateThing(name string, attrs map[string]string) (Thing, error) {
	if err := validateThingName(name); err != nil {
		return Thing{}, refusal(ErrInvalidRequest, "%v", err)
	}
	if len(attrs) > MaxThingAttributes {
		return Thing{}, refusal(ErrInvalidRequest, "Thing %s has %d attributes; a thing without a thing type may have at most %d", name, len(attrs), MaxThingAttributes)
	}
	err := r.mutate(func(st *registryState) (*record, error) {
		if t, ok := st.things[name]; ok {
			if maps.Equal(t.Attributes, attrs) || len(t.Attributes) == 0 && len(attrs) == 0 {
				return nil, nil
			}
			return nil, refusal(ErrAlreadyExists, "Thing %s already exists in account with different attributes", name)
		}
		return &record{Op: opThing, Thing: name, ID: newUUID(), Attributes: attrs}, nil
	})
	if err != nil {
		return Thing{}, err
	}
	t, ok := r.Thing(name)
	if !ok {
		return Thing{}, refusal(ErrNotFound, "Thing %s was deleted while it was created", name)
	}
	return t, nil
}

// DeleteThing deletes a thing. A thing that does not exist is no error, as
// in AWS; one with principals attached is refused ErrInvalidRequest; a
// non-zero expectedVersion must equal the thing's version.
func (r *Registry) DeleteThing(name string, expectedVersion int64) error {
	return r.mutate(func(st *registryState) (*record, error) {
		t, ok := st.things[name]
		if !ok {
			return nil, nil
		}
		if expectedVersion != 0 && expectedVersion != t.Version {
			return nil, refusal(ErrVersionConflict, "The version for thing %s does not match the expected version.", name)
		}
		if len(t.Certificates) > 0 {
			return nil, refusal(ErrInvalidRequest, "Cannot delete. Thing %s is still attached to one or more principals", name)
		}
		return &record{Op: opThingDelete, Thing: name}, nil
	})
}

// ThingList returns every thing, sorted by name.
func (r *Registry) ThingList() []Thing {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Thing, 0, len(r.things))
	for _, n := range sortedKeys(r.things) {
		out = append(out, r.things[n].clone())
	}
	return out
}

// AddCertificate registers a PEM certificate with the given status, not
// attached to anything. A certificate already registered is refused
// ErrAlreadyExists.
func (r *Registry) AddCertificate(certPEM []byte, status CertStatus) (Certificate, error) {
	if !status.Valid() {
		return Certificate{}, refusal(ErrInvalidRequest, "certificate status %q is not valid", status)
	}
	id, err := certificateIDFromPEM(certPEM)
	if err != nil {
		return Certificate{}, refusal(ErrInvalidRequest, "%v", err)
	}
	err = r.mutate(func(st *registryState) (*record, error) {
		if _, ok := st.certs[id]; ok {
			return nil, refusal(ErrAlreadyExists, "The certificate is already provisioned or registered")
		}
		return &record{Op: opCert, Cert: id, PEM: string(certPEM), Status: status}, nil
	})
	if err != nil {
		return Certificate{}, err
	}
	c, ok := r.Certificate(id)
	if !ok {
		return Certificate{}, refusal(ErrNotFound, "Certificate %s was deleted while it was registered", id)
	}
	return c, nil
}

// UpdateCertificateStatus sets a certificate's status, as
// UpdateCertificate does: ACTIVE, INACTIVE or REVOKED (the other statuses
// are AWS's own). Leaving ACTIVE closes the certificate's live
// connections, in this process and in any emulator sharing the data
// directory.
func (r *Registry) UpdateCertificateStatus(id string, status CertStatus) error {
	switch status {
	case StatusActive, StatusInactive, StatusRevoked:
	default:
		return refusal(ErrInvalidRequest, "newStatus %s: want ACTIVE, INACTIVE or REVOKED", status)
	}
	return r.mutate(func(st *registryState) (*record, error) {
		c, ok := st.certs[id]
		if !ok {
			return nil, refusal(ErrNotFound, "Certificate %s does not exist", id)
		}
		if c.Status == status {
			return nil, nil
		}
		if c.Status == StatusRevoked {
			// AWS: once a certificate is revoked, its status can't be
			// changed.
			return nil, refusal(ErrCertificateState, "Certificate %s is REVOKED: its status cannot be changed", id)
		}
		return &record{Op: opStatus, Cert: id, Status: status}, nil
	})
}

// DeleteCertificate deletes a certificate that is not ACTIVE and attached
// to no thing; with force it may still have policies, else those refuse it
// too (ErrDeleteConflict).
func (r *Registry) DeleteCertificate(id string, force bool) error {
	return r.mutate(func(st *registryState) (*record, error) {
		c, ok := st.certs[id]
		switch {
		case !ok:
			return nil, refusal(ErrNotFound, "Certificate %s does not exist", id)
		case c.Status == StatusActive:
			return nil, refusal(ErrCertificateState, "Certificate must be deactivated (not ACTIVE) before deletion. Id: %s", id)
		case len(c.Things) > 0:
			return nil, refusal(ErrDeleteConflict, "Things must be detached before deletion (arn: %s)", id)
		case len(c.Policies) > 0 && !force:
			return nil, refusal(ErrDeleteConflict, "Certificate policies must be detached before deletion (arn: %s)", id)
		}
		return &record{Op: opCertDelete, Cert: id}, nil
	})
}

// CertificateList returns every certificate, oldest first (ties by ID).
func (r *Registry) CertificateList() []Certificate {
	r.mu.RLock()
	out := make([]Certificate, 0, len(r.certs))
	for _, c := range r.certs {
		out = append(out, c.clone())
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// CreatePolicy creates a policy at version 1. An existing policy of the
// name is refused ErrAlreadyExists, a document that does not parse
// ErrMalformedPolicy.
func (r *Registry) CreatePolicy(name, document string) (PolicyInfo, error) {
	if err := validatePolicyName(name); err != nil {
		return PolicyInfo{}, refusal(ErrInvalidRequest, "%v", err)
	}
	if n := nonSpaceChars(document); n > maxPolicyDocumentChars {
		return PolicyInfo{}, refusal(ErrMalformedPolicy, "Policy document has %d characters without white space; the maximum is %d", n, maxPolicyDocumentChars)
	}
	if _, err := policy.Parse([]byte(document)); err != nil {
		return PolicyInfo{}, refusal(ErrMalformedPolicy, "%v", err)
	}
	err := r.mutate(func(st *registryState) (*record, error) {
		if _, ok := st.policies[name]; ok {
			return nil, refusal(ErrAlreadyExists, "Policy cannot be created - name already exists (name=%s)", name)
		}
		return &record{Op: opPolicy, Name: name, Document: document}, nil
	})
	if err != nil {
		return PolicyInfo{}, err
	}
	p, ok := r.PolicyInfo(name)
	if !ok {
		return PolicyInfo{}, refusal(ErrNotFound, "Policy %s was deleted while it was created", name)
	}
	return p, nil
}

// PolicyInfo returns the named policy.
func (r *Registry) PolicyInfo(name string) (PolicyInfo, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.policies[name]
	if !ok {
		return PolicyInfo{}, false
	}
	return PolicyInfo{Name: name, Document: p.document, Created: p.created, Modified: p.modified}, true
}

// PolicyNames returns the names of every policy, sorted.
func (r *Registry) PolicyNames() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return sortedKeys(r.policies)
}

// DeletePolicy deletes a policy attached to no certificate.
func (r *Registry) DeletePolicy(name string) error {
	return r.mutate(func(st *registryState) (*record, error) {
		if _, ok := st.policies[name]; !ok {
			return nil, refusal(ErrNotFound, "Policy not found (name=%s)", name)
		}
		for _, c := range st.certs {
			if slices.Contains(c.Policies, name) {
				return nil, refusal(ErrDeleteConflict, "The policy cannot be deleted as the policy is attached to one or more principals (name=%s)", name)
			}
		}
		return &record{Op: opPolicyDelete, Name: name}, nil
	})
}

// AttachPolicy attaches a policy to a certificate; attaching it again is a
// no-op.
func (r *Registry) AttachPolicy(name, certID string) error {
	return r.mutate(func(st *registryState) (*record, error) {
		if _, ok := st.policies[name]; !ok {
			return nil, refusal(ErrNotFound, "Policy not found (name=%s)", name)
		}
		c, ok := st.certs[certID]
		if !ok {
			return nil, refusal(ErrNotFound, "Certificate %s does not exist", certID)
		}
		if slices.Contains(c.Policies, name) {
			return nil, nil
		}
		if len(c.Policies) >= MaxPoliciesPerCertificate {
			return nil, refusal(ErrLimitExceeded, "Certificate %s already has %d policies attached, the maximum", certID, MaxPoliciesPerCertificate)
		}
		return &record{Op: opAttachPolicy, Name: name, Cert: certID}, nil
	})
}

// DetachPolicy detaches a policy from a certificate; detaching one that is
// not attached is a no-op.
func (r *Registry) DetachPolicy(name, certID string) error {
	return r.mutate(func(st *registryState) (*record, error) {
		if _, ok := st.policies[name]; !ok {
			return nil, refusal(ErrNotFound, "Policy not found (name=%s)", name)
		}
		c, ok := st.certs[certID]
		if !ok {
			return nil, refusal(ErrNotFound, "Certificate %s does not exist", certID)
		}
		if !slices.Contains(c.Policies, name) {
			return nil, nil
		}
		return &record{Op: opDetachPolicy, Name: name, Cert: certID}, nil
	})
}

// AttachThingPrincipal attaches a certificate to a thing; again is a no-op.
func (r *Registry) AttachThingPrincipal(thing, certID string) error {
	return r.mutate(func(st *registryState) (*record, error) {
		if _, ok := st.things[thing]; !ok {
			return nil, refusal(ErrNotFound, "Thing %s cannot be found.", thing)
		}
		c, ok := st.certs[certID]
		if !ok {
			return nil, refusal(ErrNotFound, "Certificate %s does not exist", certID)
		}
		if slices.Contains(c.Things, thing) {
			return nil, nil
		}
		return &record{Op: opAttachThing, Thing: thing, Cert: certID}, nil
	})
}

// DetachThingPrincipal detaches a certificate from a thing; detaching one
// that is not attached is a no-op.
func (r *Registry) DetachThingPrincipal(thing, certID string) error {
	return r.mutate(func(st *registryState) (*record, error) {
		t, ok := st.things[thing]
		if !ok {
			return nil, refusal(ErrNotFound, "Thing %s cannot be found.", thing)
		}
		if _, ok := st.certs[certID]; !ok {
			return nil, refusal(ErrNotFound, "Certificate %s does not exist", certID)
		}
		if !slices.Contains(t.Certificates, certID) {
			return nil, nil
		}
		return &record{Op: opDetachThing, Thing: thing, Cert: certID}, nil
	})
}

// nonSpaceChars counts the characters of s that are not white space.
func nonSpaceChars(s string) int {
	n := 0
	for _, c := range s {
		switch c {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}

// newUUID returns a random version-4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return formatUUID(b[:])
}
