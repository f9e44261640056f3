package emulator

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// TestRegistryOperationsSurviveCompactionAndReopening builds every kind of
// state the API makes (a thing with attributes and no certificate, an
// unattached inactive certificate, a certificate on two things, a
// provisioned thing, policies), compacts the log, reopens it, and finds
// the same state, IDs and creation times included.
func TestRegistryOperationsSurviveCompactionAndReopening(t *testing.T) {
	dir := t.TempDir()
	r := openTestRegistry(t, dir)
	r.compactLines = 20
	must(r.CreatePolicy("p", testPolicy))(t)
	must(r.CreatePolicy("q", testPolicy))(t)
	lamp := must(r.CreateThing("lamp", map[string]string{"room": "hall"}))(t)
	must(r.CreateThing("pump", nil))(t)
	loose := must(r.AddCertificate(selfSignedPEM(t, "loose"), StatusInactive))(t)
	shared := must(r.AddCertificate(selfSignedPEM(t, "shared"), StatusActive))(t)
	for _, step := range []error{
		r.AttachThingPrincipal("lamp", shared.ID),
		r.AttachThingPrincipal("pump", shared.ID),
		r.AttachPolicy("p", shared.ID),
		r.AttachPolicy("q", shared.ID),
		r.DetachPolicy("q", shared.ID),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	legacy := registerFake(t, r, "legacy", selfSignedPEM(t, "legacy"))
	// History for compaction to drop.
	for i := range 40 {
		status := []CertStatus{StatusInactive, StatusActive}[i%2]
		if err := r.UpdateCertificateStatus(shared.ID, status); err != nil {
			t.Fatal(err)
		}
	}
	if n := logLines(t, dir); n >= 40 {
		t.Fatalf("log holds %d lines: it never compacted", n)
	}
	again := openTestRegistry(t, dir)
	for _, name := range []string{"lamp", "pump", "legacy"} {
		a, _ := r.Thing(name)
		b, ok := again.Thing(name)
		if !ok || a.ID != b.ID || !a.Created.Equal(b.Created) || fmt.Sprint(a.Attributes) != fmt.Sprint(b.Attributes) || !slices.Equal(a.Certificates, b.Certificates) {
			t.Errorf("thing %s reopened as %+v, was %+v", name, b, a)
		}
	}
	if b, _ := again.Thing("lamp"); b.ID != lamp.ID || b.Attributes["room"] != "hall" {
		t.Errorf("lamp reopened as %+v", b)
	}
	for _, id := range []string{loose.ID, shared.ID, legacy} {
		a, _ := r.Certificate(id)
		b, ok := again.Certificate(id)
		if !ok || a.Status != b.Status || !slices.Equal(a.Things, b.Things) || !slices.Equal(a.Policies, b.Policies) || !a.Created.Equal(b.Created) {
			t.Errorf("certificate %s reopened as %+v, was %+v", id[:8], b, a)
		}
	}
	if c, _ := again.Certificate(shared.ID); !slices.Equal(c.Things, []string{"lamp", "pump"}) || !slices.Equal(c.Policies, []string{"p"}) || c.Thing != "lamp" {
		t.Errorf("shared certificate reopened as things %v policies %v first %q", c.Things, c.Policies, c.Thing)
	}
	if _, ok := again.PolicyInfo("q"); !ok {
		t.Error("policy q lost")
	}
}

func TestRegistryRefusesAsAWSDoes(t *testing.T) {
	r := openTestRegistry(t, t.TempDir())
	must(r.CreatePolicy("p", testPolicy))(t)
	must(r.CreateThing("t", nil))(t)
	c := must(r.AddCertificate(selfSignedPEM(t, "c"), StatusActive))(t)
	if err := r.AttachThingPrincipal("t", c.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.AttachPolicy("p", c.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		kind error
	}{
		{"thing with other attributes", second(r.CreateThing("t", map[string]string{"a": "b"})), ErrAlreadyExists},
		{"four attributes", second(r.CreateThing("u", map[string]string{"a": "1", "b": "2", "c": "3", "d": "4"})), ErrInvalidRequest},
		{"certificate twice", second(r.AddCertificate(c.PEM, StatusActive)), ErrAlreadyExists},
		{"policy twice", second(r.CreatePolicy("p", testPolicy)), ErrAlreadyExists},
		{"malformed policy", second(r.CreatePolicy("bad", `{"Version":"2012-10-17"}`)), ErrMalformedPolicy},
		{"delete thing with a principal", r.DeleteThing("t", 0), ErrInvalidRequest},
		{"delete thing at another version", r.DeleteThing("t", 7), ErrVersionConflict},
		{"delete active certificate", r.DeleteCertificate(c.ID, true), ErrCertificateState},
		{"delete attached policy", r.DeletePolicy("p"), ErrDeleteConflict},
		{"attach unknown policy", r.AttachPolicy("nope", c.ID), ErrNotFound},
		{"attach to unknown thing", r.AttachThingPrincipal("nope", c.ID), ErrNotFound},
		{"internal status", r.UpdateCertificateStatus(c.ID, StatusPendingTransfer), ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var re *RegistryError
			if !errors.Is(tt.err, tt.kind) || !errors.As(tt.err, &re) || re.Message == "" {
				t.Errorf("error %v, want a %v refusal with a message", tt.err, tt.kind)
			}
		})
	}
	revoked := must(r.AddCertificate(selfSignedPEM(t, "revoked"), StatusActive))(t)
	if err := r.UpdateCertificateStatus(revoked.ID, StatusRevoked); err != nil {
		t.Fatal(err)
	}
	for _, status := range []CertStatus{StatusActive, StatusInactive} {
		if err := r.UpdateCertificateStatus(revoked.ID, status); !errors.Is(err, ErrCertificateState) {
			t.Errorf("revoked certificate set %s: %v, want a certificate-state refusal", status, err)
		}
	}
	if err := r.UpdateCertificateStatus(revoked.ID, StatusRevoked); err != nil {
		t.Errorf("revoking a revoked certificate again: %v, want nil (idempotent)", err)
	}
	if got, _ := r.Certificate(revoked.ID); got.Status != StatusRevoked {
		t.Errorf("revoked certificate is %s after the refusals", got.Status)
	}
	if err := r.DeleteThing("never-was", 0); err != nil {
		t.Errorf("deleting a thing that does not exist: %v, want nil as AWS", err)
	}
	if err := r.UpdateCertificateStatus(c.ID, StatusInactive); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteCertificate(c.ID, true); !errors.Is(err, ErrDeleteConflict) {
		t.Errorf("force-deleting a certificate attached to a thing: %v, want a delete conflict", err)
	}
	if err := r.DetachThingPrincipal("t", c.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteCertificate(c.ID, false); !errors.Is(err, ErrDeleteConflict) {
		t.Errorf("deleting a certificate with a policy, no force: %v, want a delete conflict", err)
	}
	if err := r.DeleteCertificate(c.ID, true); err != nil {
		t.Errorf("force-deleting an inactive certificate with a policy: %v", err)
	}
	if err := r.DeletePolicy("p"); err != nil {
		t.Errorf("deleting the policy once detached by the delete: %v", err)
	}
}

// second returns the error of a two-value call.
func second[T any](_ T, err error) error { return err }
