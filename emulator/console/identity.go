package console

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/fleet"
)

// Names of the console's own identity: the certificate it connects to the
// broker with, to watch lifecycle events and shadow changes and to act for
// the test client's "console" identity, as AWS's console acts with the
// signed-in account's rights.
const (
	identityDir = "console-identity"
	// PolicyName is the policy attached to the console's certificate.
	PolicyName = "shadowload-console"
)

// consolePolicy grants the console what an account administrator has on
// the message broker; it is an ordinary policy, evaluated as any other.
const consolePolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["iot:Connect", "iot:Publish", "iot:RetainPublish", "iot:Subscribe", "iot:Receive"],
      "Resource": "*"
    }
  ]
}
`

// consoleIdentity loads the console's identity from DATA/console-identity,
// or issues one from the emulator's CA, and makes sure it is registered
// ACTIVE with PolicyName attached.
func consoleIdentity(em *emulator.Emulator) (fleet.Bundle, error) {
	dir := filepath.Join(em.DataDir(), identityDir)
	b, err := fleet.LoadBundle(dir)
	if err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, fleet.CertFileName)); statErr == nil {
			return b, fmt.Errorf("console: identity %s: %w", dir, err)
		}
		id, err := em.CA().Issue("shadowload-console", fleet.KeyECDSA)
		if err != nil {
			return b, fmt.Errorf("console: issue identity: %w", err)
		}
		if err := fleet.WriteBundle(em.DataDir(), identityDir, id); err != nil {
			return b, fmt.Errorf("console: %w", err)
		}
		if b, err = fleet.LoadBundle(dir); err != nil {
			return b, fmt.Errorf("console: identity %s: %w", dir, err)
		}
	}
	reg := em.Registry()
	certPEM, err := os.ReadFile(filepath.Join(dir, fleet.CertFileName))
	if err != nil {
		return b, fmt.Errorf("console: %w", err)
	}
	if _, err := reg.AddCertificate(certPEM, emulator.StatusActive); err != nil && !errors.Is(err, emulator.ErrAlreadyExists) {
		return b, fmt.Errorf("console: register identity: %w", err)
	}
	if _, err := reg.CreatePolicy(PolicyName, consolePolicy); err != nil && !errors.Is(err, emulator.ErrAlreadyExists) {
		return b, fmt.Errorf("console: policy %s: %w", PolicyName, err)
	}
	if err := reg.AttachPolicy(PolicyName, b.CertificateID); err != nil {
		return b, fmt.Errorf("console: attach %s: %w", PolicyName, err)
	}
	if c, ok := reg.Certificate(b.CertificateID); ok && c.Status != emulator.StatusActive {
		return b, fmt.Errorf("console: its certificate %s is %s; activate it (or remove %s for a new one)", b.CertificateID, c.Status, dir)
	}
	return b, nil
}
