package emulator

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/shadowload/shadowload/internal/policy"
)

// apply changes st by one record and reports whether the record can change
// what a live connection is allowed. The caller holds the registry's mu if
// st is its own state. Records are checked against the state when they are
// appended (under the registry's file lock), so a record that does not fit
// the state here comes from a damaged log: it is refused with an error and
// skipped.
func (st *registryState) apply(rec record, changed *[]statusChange) (bool, error) {
	// Keep the count of things compaction writes records for.
	var touched []string
	switch rec.Op {
	case opRegister, opThing, opThingDelete, opAttachThing, opDetachThing:
		touched = []string{rec.Thing}
	case opCert:
		touched = rec.Things
	case opCertDelete:
		if c, ok := st.certs[rec.Cert]; ok {
			touched = slices.Clone(c.Things)
		}
	}
	before := st.looseAmong(touched)
	perms, err := st.applyRecord(rec, changed)
	st.loose += st.looseAmong(touched) - before
	return perms, err
}

// looseAmong counts the named things that exist and do not fold into a
// cert record.
func (st *registryState) looseAmong(names []string) int {
	n := 0
	for _, name := range names {
		if t, ok := st.things[name]; ok && !t.foldsIntoCert() {
			n++
		}
	}
	return n
}

// applyRecord is apply without the bookkeeping of loose things.
func (st *registryState) applyRecord(rec record, changed *[]statusChange) (bool, error) {
	at := recordTime(rec.Time)
	created := at
	if rec.Created != 0 {
		created = recordTime(rec.Created)
	}
	modified := created
	if rec.Modified != 0 {
		modified = recordTime(rec.Modified)
	}
	switch rec.Op {
	case opPolicy:
		doc, err := policy.Parse([]byte(rec.Document))
		if err != nil {
			return false, fmt.Errorf("policy %q: %w", rec.Name, err)
		}
		p, ok := st.policies[rec.Name]
		if !ok {
			p = &policyEntry{created: created}
			st.policies[rec.Name] = p
		}
		p.document, p.parsed, p.modified = rec.Document, doc, modified
	case opPolicyDelete:
		delete(st.policies, rec.Name)
	case opRegister:
		status := rec.Status
		if status == "" {
			status = StatusActive
		}
		st.ensureThing(rec.Thing, "", nil, created)
		c, existed := st.certs[rec.Cert]
		if !existed {
			c = &certEntry{Certificate: Certificate{ID: rec.Cert, PEM: []byte(rec.PEM), Status: status, Created: created, Modified: created}}
			st.certs[rec.Cert] = c
		}
		st.attachThing(rec.Thing, c)
		for _, p := range rec.Policies {
			if !slices.Contains(c.Policies, p) {
				c.Policies = append(c.Policies, p)
			}
		}
		if !existed {
			// A new certificate changes no live connection's permissions.
			return false, nil
		}
	case opStatus:
		c, ok := st.certs[rec.Cert]
		if !ok {
			return false, fmt.Errorf("status for unregistered certificate %s", rec.Cert)
		}
		if c.Status != rec.Status {
			c.Status, c.Modified = rec.Status, at
			if changed != nil {
				*changed = append(*changed, statusChange{rec.Cert, rec.Status})
			}
		}
	case opThing:
		st.ensureThing(rec.Thing, rec.ID, rec.Attributes, created)
		return false, nil
	case opThingDelete:
		t, ok := st.things[rec.Thing]
		if !ok {
			return false, nil
		}
		for _, id := range t.Certificates {
			if c, ok := st.certs[id]; ok {
				c.detachThing(rec.Thing)
			}
		}
		delete(st.things, rec.Thing)
	case opCert:
		c, existed := st.certs[rec.Cert]
		if !existed {
			c = &certEntry{Certificate: Certificate{ID: rec.Cert, PEM: []byte(rec.PEM), Created: created}}
			st.certs[rec.Cert] = c
		}
		c.Status, c.Modified = rec.Status, modified
		for _, p := range rec.Policies {
			if !slices.Contains(c.Policies, p) {
				c.Policies = append(c.Policies, p)
			}
		}
		for _, thing := range rec.Things {
			st.ensureThing(thing, "", nil, created)
			st.attachThing(thing, c)
		}
		if !existed {
			return false, nil
		}
	case opCertDelete:
		c, ok := st.certs[rec.Cert]
		if !ok {
			return false, nil
		}
		for _, thing := range c.Things {
			if t, ok := st.things[thing]; ok {
				t.Certificates = slices.DeleteFunc(t.Certificates, func(id string) bool { return id == rec.Cert })
			}
		}
		delete(st.certs, rec.Cert)
	case opAttachThing:
		c, ok := st.certs[rec.Cert]
		if !ok {
			return false, fmt.Errorf("attach-thing for unregistered certificate %s", rec.Cert)
		}
		if _, ok := st.things[rec.Thing]; !ok {
			return false, fmt.Errorf("attach-thing to unknown thing %q", rec.Thing)
		}
		st.attachThing(rec.Thing, c)
	case opDetachThing:
		if c, ok := st.certs[rec.Cert]; ok {
			c.detachThing(rec.Thing)
		}
		if t, ok := st.things[rec.Thing]; ok {
			t.Certificates = slices.DeleteFunc(t.Certificates, func(id string) bool { return id == rec.Cert })
		}
	case opAttachPolicy:
		c, ok := st.certs[rec.Cert]
		if !ok {
			return false, fmt.Errorf("attach-policy for unregistered certificate %s", rec.Cert)
		}
		if !slices.Contains(c.Policies, rec.Name) {
			c.Policies = append(c.Policies, rec.Name)
		}
	case opDetachPolicy:
		if c, ok := st.certs[rec.Cert]; ok {
			c.Policies = slices.DeleteFunc(c.Policies, func(p string) bool { return p == rec.Name })
		}
	}
	return true, nil
}

// recordTime converts a record's Unix seconds.
func recordTime(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// ensureThing creates the thing unless it exists.
func (st *registryState) ensureThing(name, id string, attrs map[string]string, created time.Time) *Thing {
	if t, ok := st.things[name]; ok {
		return t
	}
	if id == "" {
		id = derivedThingID(name)
	}
	derived := id == derivedThingID(name)
	t := &Thing{Name: name, ID: id, Version: 1, Created: created, derivedID: derived}
	if len(attrs) > 0 {
		t.Attributes = maps.Clone(attrs)
	}
	st.things[name] = t
	return t
}

// attachThing attaches c to the (existing) thing.
func (st *registryState) attachThing(thing string, c *certEntry) {
	t := st.things[thing]
	if !slices.Contains(t.Certificates, c.ID) {
		t.Certificates = append(t.Certificates, c.ID)
	}
	if !slices.Contains(c.Things, thing) {
		c.Things = append(c.Things, thing)
	}
	c.Thing = c.Things[0]
}

// detachThing removes thing from c's things.
func (c *certEntry) detachThing(thing string) {
	c.Things = slices.DeleteFunc(c.Things, func(t string) bool { return t == thing })
	c.Thing = ""
	if len(c.Things) > 0 {
		c.Thing = c.Things[0]
	}
}

// derivedThingID gives a thing registered without an ID (by provisioning)
// a stable UUID-shaped ID from its name.
func derivedThingID(name string) string {
	sum := sha256.Sum256([]byte("thing\x00" + name))
	return formatUUID(sum[:16])
}

// foldsIntoCert reports whether the thing is fully described by the cert
// records that attach it (no attributes, the derived ID, a certificate),
// so that compaction writes no record of its own for it.
func (t *Thing) foldsIntoCert() bool {
	return len(t.Attributes) == 0 && len(t.Certificates) > 0 && t.derivedID
}

// formatUUID formats 16 bytes as a version-4 UUID.
func formatUUID(b []byte) string {
	var u [16]byte
	copy(u[:], b)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// clone returns a copy sharing no slices or maps with t.
func (t *Thing) clone() Thing {
	out := *t
	out.Certificates = slices.Clone(t.Certificates)
	out.Attributes = maps.Clone(t.Attributes)
	return out
}

// clone returns the certificate sharing no slices with c.
func (c *certEntry) clone() Certificate {
	out := c.Certificate
	out.Things = slices.Clone(c.Things)
	out.Policies = slices.Clone(c.Policies)
	return out
}
