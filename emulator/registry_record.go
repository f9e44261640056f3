package emulator

import (
	"encoding/json"
	"fmt"
)

// CertStatus is the status of a registered certificate, as AWS names it.
type CertStatus string

// Certificate statuses. Only ACTIVE certificates may connect.
const (
	StatusActive            CertStatus = "ACTIVE"
	StatusInactive          CertStatus = "INACTIVE"
	StatusRevoked           CertStatus = "REVOKED"
	StatusPendingActivation CertStatus = "PENDING_ACTIVATION"
	StatusPendingTransfer   CertStatus = "PENDING_TRANSFER"
	StatusRegisterInactive  CertStatus = "REGISTER_INACTIVE"
)

// Valid reports whether s is one of the statuses AWS defines.
func (s CertStatus) Valid() bool {
	switch s {
	case StatusActive, StatusInactive, StatusRevoked, StatusPendingActivation,
		StatusPendingTransfer, StatusRegisterInactive:
		return true
	}
	return false
}

// Record operations in the registry log.
const (
	opPolicy   = "policy"   // create or replace a policy: Name, Document
	opRegister = "register" // create Thing, register Cert (PEM) ACTIVE, attach Policies
	opStatus   = "status"   // set Cert's Status
)

// record is one line of DATA/registry.log. Each line is written with a single
// write(2) on a file opened O_APPEND, so concurrent writers from several
// processes never interleave within a line.
type record struct {
	Op       string     `json:"op"`
	Time     int64      `json:"time"`
	Name     string     `json:"name,omitempty"`
	Document string     `json:"document,omitempty"`
	Thing    string     `json:"thing,omitempty"`
	Cert     string     `json:"cert,omitempty"`
	PEM      string     `json:"pem,omitempty"`
	Policies []string   `json:"policies,omitempty"`
	Status   CertStatus `json:"status,omitempty"`
}

// decodeRecord parses and checks one log line.
func decodeRecord(line []byte) (record, error) {
	var r record
	if err := json.Unmarshal(line, &r); err != nil {
		return r, fmt.Errorf("want a JSON object: %w", err)
	}
	switch r.Op {
	case opPolicy:
		if r.Name == "" || r.Document == "" {
			return r, fmt.Errorf("policy record needs name and document")
		}
	case opRegister:
		if r.Thing == "" || r.Cert == "" {
			return r, fmt.Errorf("register record needs thing and cert")
		}
	case opStatus:
		if r.Cert == "" || !r.Status.Valid() {
			return r, fmt.Errorf("status record needs cert and a valid status, got %q", r.Status)
		}
	default:
		return r, fmt.Errorf("unknown op %q, want policy, register or status", r.Op)
	}
	return r, nil
}
