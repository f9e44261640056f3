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

// Record operations in the registry log. Provisioning appends policy and
// register records; the HTTP API the finer-grained ones, which compaction
// also writes (one thing and one cert record per thing and certificate).
const (
	opPolicy       = "policy"        // create or replace a policy: Name, Document
	opRegister     = "register"      // create Thing, register Cert (PEM) ACTIVE, attach Policies
	opStatus       = "status"        // set Cert's Status
	opThing        = "thing"         // create Thing with ID and Attributes
	opThingDelete  = "thing-delete"  // delete Thing
	opCert         = "cert"          // register Cert (PEM) with Status, Policies, Things
	opCertDelete   = "cert-delete"   // delete Cert
	opAttachThing  = "attach-thing"  // attach Cert to Thing
	opDetachThing  = "detach-thing"  // detach Cert from Thing
	opAttachPolicy = "attach-policy" // attach policy Name to Cert
	opDetachPolicy = "detach-policy" // detach policy Name from Cert
	opPolicyDelete = "policy-delete" // delete policy Name
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
	// ID is a thing's thingId.
	ID string `json:"id,omitempty"`
	// Attributes are a thing's attributes.
	Attributes map[string]string `json:"attributes,omitempty"`
	// Things are the things a cert record attaches its certificate to.
	Things []string `json:"things,omitempty"`
	// Created and Modified (Unix seconds) carry creation and status-change
	// times through compaction; 0 means the record's Time.
	Created  int64 `json:"created,omitempty"`
	Modified int64 `json:"modified,omitempty"`
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
	case opThing, opThingDelete:
		if r.Thing == "" {
			return r, fmt.Errorf("%s record needs thing", r.Op)
		}
	case opCert:
		if r.Cert == "" || r.PEM == "" || !r.Status.Valid() {
			return r, fmt.Errorf("cert record needs cert, pem and a valid status, got %q", r.Status)
		}
	case opCertDelete:
		if r.Cert == "" {
			return r, fmt.Errorf("cert-delete record needs cert")
		}
	case opAttachThing, opDetachThing:
		if r.Thing == "" || r.Cert == "" {
			return r, fmt.Errorf("%s record needs thing and cert", r.Op)
		}
	case opAttachPolicy, opDetachPolicy:
		if r.Name == "" || r.Cert == "" {
			return r, fmt.Errorf("%s record needs name and cert", r.Op)
		}
	case opPolicyDelete:
		if r.Name == "" {
			return r, fmt.Errorf("policy-delete record needs name")
		}
	default:
		return r, fmt.Errorf("unknown op %q, want policy, register, status, thing, thing-delete, cert, cert-delete, attach-thing, detach-thing, attach-policy, detach-policy or policy-delete", r.Op)
	}
	return r, nil
}
