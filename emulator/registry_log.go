package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/shadowload/shadowload/internal/policy"
)

// maxRecordSize bounds one registry line; a larger one could be torn by
// concurrent appenders.
const maxRecordSize = 64 << 10

// append writes one record to the log and applies everything up to it.
func (r *Registry) append(rec record) error {
	rec.Time = time.Now().Unix()
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("emulator: encode registry record: %w", err)
	}
	line = append(line, '\n')
	if len(line) > maxRecordSize {
		return fmt.Errorf("emulator: registry record of %d bytes exceeds %d", len(line), maxRecordSize)
	}
	// tailMu guards wf, which Refresh replaces when the log file was
	// replaced, and closed.
	r.tailMu.Lock()
	if r.closed {
		r.tailMu.Unlock()
		return errors.New("emulator: registry is closed")
	}
	_, err = r.wf.Write(line)
	r.tailMu.Unlock()
	if err != nil {
		return fmt.Errorf("emulator: append to %s: %w", r.path, err)
	}
	_, err = r.Refresh()
	return err
}

// Refresh applies the records appended to the log since the last call, by
// this process or any other, and reports how many it applied. A trailing line
// without its newline is left for the next call. Status changes are reported
// to the emulator after they are applied.
func (r *Registry) Refresh() (int, error) {
	r.tailMu.Lock()
	if r.closed {
		r.tailMu.Unlock()
		return 0, errors.New("emulator: registry is closed")
	}
	if err := r.reopenIfReplaced(); err != nil {
		r.tailMu.Unlock()
		return 0, err
	}
	data, err := r.readNew()
	if err != nil {
		r.tailMu.Unlock()
		return 0, err
	}
	var changed []statusChange
	applied := 0
	var firstErr error
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line := data[:i]
		data = data[i+1:]
		r.offset += int64(i + 1)
		r.line++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rec, err := decodeRecord(line)
		if err == nil {
			err = r.apply(rec, &changed)
		}
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("emulator: %s:%d: %w", r.path, r.line, err)
			}
			continue
		}
		applied++
	}
	r.tailMu.Unlock()

	if len(changed) > 0 {
		r.watchMu.Lock()
		watchers := slices.Clone(r.watch)
		r.watchMu.Unlock()
		for _, c := range changed {
			for _, fn := range watchers {
				fn(c.cert, c.status)
			}
		}
	}
	return applied, firstErr
}

// statusChange is a certificate whose status a refresh changed.
type statusChange struct {
	cert   string
	status CertStatus
}

// reopenIfReplaced starts over when the log file was replaced or truncated.
func (r *Registry) reopenIfReplaced() error {
	onDisk, err := os.Stat(r.path)
	if err != nil {
		return fmt.Errorf("emulator: registry log: %w", err)
	}
	open, err := r.rf.Stat()
	if err != nil {
		return fmt.Errorf("emulator: registry log: %w", err)
	}
	if os.SameFile(onDisk, open) && onDisk.Size() >= r.offset {
		return nil
	}
	rf, err := os.Open(r.path)
	if err != nil {
		return fmt.Errorf("emulator: reopen registry log: %w", err)
	}
	_ = r.rf.Close()
	r.rf = rf
	if !os.SameFile(onDisk, open) {
		wf, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("emulator: reopen registry log for append: %w", err)
		}
		_ = r.wf.Close()
		r.wf = wf
	}
	r.reset()
	return nil
}

// readNew reads the log from the current offset to its end.
func (r *Registry) readNew() ([]byte, error) {
	var buf bytes.Buffer
	chunk := make([]byte, 64<<10)
	off := r.offset
	for {
		n, err := r.rf.ReadAt(chunk, off)
		buf.Write(chunk[:n])
		off += int64(n)
		if errors.Is(err, io.EOF) {
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, fmt.Errorf("emulator: read registry log: %w", err)
		}
	}
}

// apply changes the in-memory registry by one record.
func (r *Registry) apply(rec record, changed *[]statusChange) error {
	switch rec.Op {
	case opPolicy:
		doc, err := policy.Parse([]byte(rec.Document))
		if err != nil {
			return fmt.Errorf("policy %q: %w", rec.Name, err)
		}
		r.mu.Lock()
		r.policies[rec.Name] = &policyEntry{document: rec.Document, parsed: doc}
		r.mu.Unlock()
	case opRegister:
		status := rec.Status
		if status == "" {
			status = StatusActive
		}
		r.mu.Lock()
		t, ok := r.things[rec.Thing]
		if !ok {
			t = &Thing{Name: rec.Thing}
			r.things[rec.Thing] = t
		}
		if !slices.Contains(t.Certificates, rec.Cert) {
			t.Certificates = append(t.Certificates, rec.Cert)
		}
		c, existed := r.certs[rec.Cert]
		if !existed {
			c = &certEntry{Certificate: Certificate{ID: rec.Cert, PEM: []byte(rec.PEM), Status: status}}
			r.certs[rec.Cert] = c
		}
		c.Thing = rec.Thing
		for _, p := range rec.Policies {
			if !slices.Contains(c.Policies, p) {
				c.Policies = append(c.Policies, p)
			}
		}
		r.mu.Unlock()
		if !existed {
			// A new certificate changes no live connection's permissions.
			return nil
		}
	case opStatus:
		r.mu.Lock()
		c, ok := r.certs[rec.Cert]
		if !ok {
			r.mu.Unlock()
			return fmt.Errorf("status for unregistered certificate %s", rec.Cert)
		}
		if c.Status != rec.Status {
			c.Status = rec.Status
			*changed = append(*changed, statusChange{rec.Cert, rec.Status})
		}
		r.mu.Unlock()
	}
	r.gen.Add(1)
	return nil
}
