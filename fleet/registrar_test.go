package fleet

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// memRegistrar is an in-memory Registrar that checks what it is given the way
// a registry would: policy documents must parse in the AWS grammar, the policy
// must exist before a certificate is attached to it, and certificates must
// parse and chain to the CA when one is set.
type memRegistrar struct {
	roots *x509.CertPool

	mu       sync.Mutex
	policies map[string]string
	things   map[string]string // thing name -> certificate ID
	certs    map[string][]byte // certificate ID -> PEM
	calls    int               // RegisterThing calls
	failOn   string            // thing name whose registration fails
}

func newMemRegistrar(roots *x509.CertPool) *memRegistrar {
	return &memRegistrar{
		roots:    roots,
		policies: map[string]string{},
		things:   map[string]string{},
		certs:    map[string][]byte{},
	}
}

func (r *memRegistrar) EnsurePolicy(_ context.Context, name, document string) error {
	if err := checkPolicyDocument(document); err != nil {
		return fmt.Errorf("policy %q: %w", name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.policies[name]; ok && old != document {
		return fmt.Errorf("policy %q exists with a different document", name)
	}
	r.policies[name] = document
	return nil
}

func (r *memRegistrar) RegisterThing(ctx context.Context, thing string, certPEM []byte, policy string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	cert, err := parseCertificatePEM(certPEM, "certificate of "+thing)
	if err != nil {
		return "", err
	}
	if r.roots != nil {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: r.roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			return "", fmt.Errorf("certificate of %s: %w", thing, err)
		}
	}
	id := CertificateID(cert.Raw)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if thing == r.failOn {
		return "", fmt.Errorf("registration of %s refused", thing)
	}
	if _, ok := r.policies[policy]; !ok {
		return "", fmt.Errorf("policy %q does not exist", policy)
	}
	r.things[thing] = id
	r.certs[id] = certPEM
	return id, nil
}

// checkPolicyDocument parses an AWS IoT policy document strictly: Version
// 2012-10-17, a non-empty Statement list, Effect Allow or Deny, Action and
// Resource a string or a list of strings, iot: actions and AWS IoT ARNs.
func checkPolicyDocument(doc string) error {
	var p struct {
		Version   string
		Statement []struct {
			Effect   string
			Action   json.RawMessage
			Resource json.RawMessage
		}
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("malformed policy document: %w", err)
	}
	if p.Version != "2012-10-17" {
		return fmt.Errorf("Version %q, want 2012-10-17", p.Version)
	}
	if len(p.Statement) == 0 {
		return fmt.Errorf("no Statement")
	}
	for i, s := range p.Statement {
		if s.Effect != "Allow" && s.Effect != "Deny" {
			return fmt.Errorf("Statement[%d]: Effect %q", i, s.Effect)
		}
		actions, err := stringOrList(s.Action)
		if err != nil {
			return fmt.Errorf("Statement[%d].Action: %w", i, err)
		}
		for _, a := range actions {
			if !strings.HasPrefix(a, "iot:") {
				return fmt.Errorf("Statement[%d]: action %q", i, a)
			}
		}
		resources, err := stringOrList(s.Resource)
		if err != nil {
			return fmt.Errorf("Statement[%d].Resource: %w", i, err)
		}
		for _, res := range resources {
			if !strings.HasPrefix(res, "arn:aws:iot:") {
				return fmt.Errorf("Statement[%d]: resource %q", i, res)
			}
		}
	}
	return nil
}

func stringOrList(raw json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
		return nil, fmt.Errorf("want a string or a non-empty list of strings, got %s", raw)
	}
	return list, nil
}
