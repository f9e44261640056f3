package awsiot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// JournalFileName is the provisioning journal inside the bundles directory.
const JournalFileName = ".provision-journal"

// Journal operations.
const (
	jPending = "pending" // a certificate is being made for Thing
	jDone    = "done"    // Thing is complete with Cert
	jCleared = "cleared" // Thing's pending certificate was dealt with
	jPolicy  = "policy"  // policy Name exists; Created says this run made it
)

// journalRecord is one line of the journal.
type journalRecord struct {
	Op      string `json:"op"`
	Thing   string `json:"thing,omitempty"`
	Cert    string `json:"cert,omitempty"`
	Name    string `json:"name,omitempty"`
	Created bool   `json:"created,omitempty"`
	Time    int64  `json:"time"`
}

// journalState is what a journal's records add up to.
type journalState struct {
	// pending maps a thing to when its certificate request started.
	pending map[string]time.Time
	// done maps a complete thing to its certificate ID.
	done map[string]string
	// createdPolicies are the policies a run created.
	createdPolicies []string
}

// journal appends records to OUT/.provision-journal, each with one write
// on a file opened O_APPEND, so a killed process leaves whole lines and
// at most a torn last one, which reading skips.
type journal struct {
	mu sync.Mutex
	f  *os.File
}

// openJournal reads the journal in outDir, if any, and opens it for
// appending.
func openJournal(outDir string) (*journal, journalState, error) {
	path := filepath.Join(outDir, JournalFileName)
	st := journalState{pending: map[string]time.Time{}, done: map[string]string{}}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, st, fmt.Errorf("awsiot: read journal: %w", err)
	}
	// A killed run may leave a torn last line: it is cut off, so that the
	// next record starts a line of its own.
	whole := data[:bytes.LastIndexByte(data, '\n')+1]
	for i, line := range bytes.Split(bytes.TrimSuffix(whole, []byte("\n")), []byte("\n")) {
		if len(whole) == 0 {
			break
		}
		var r journalRecord
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, st, fmt.Errorf("awsiot: %s:%d: %w (remove the journal to start over)", path, i+1, err)
		}
		st.apply(r)
	}
	if len(whole) < len(data) {
		if err := os.Truncate(path, int64(len(whole))); err != nil {
			return nil, st, fmt.Errorf("awsiot: cut the torn end of the journal: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, st, fmt.Errorf("awsiot: open journal: %w", err)
	}
	return &journal{f: f}, st, nil
}

// apply adds one record to the state.
func (st *journalState) apply(r journalRecord) {
	switch r.Op {
	case jPending:
		st.pending[r.Thing] = time.Unix(r.Time, 0)
	case jDone:
		delete(st.pending, r.Thing)
		st.done[r.Thing] = r.Cert
	case jCleared:
		delete(st.pending, r.Thing)
	case jPolicy:
		if r.Created {
			st.createdPolicies = append(st.createdPolicies, r.Name)
		}
	}
}

// append writes one record; the caller learns of a failure, since a run
// that cannot journal cannot resume safely.
func (j *journal) append(r journalRecord) error {
	r.Time = time.Now().Unix()
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("awsiot: write journal: %w", err)
	}
	return nil
}

// close closes the journal file.
func (j *journal) close() error { return j.f.Close() }

// removeJournal deletes the journal of a finished run.
func removeJournal(outDir string) error {
	err := os.Remove(filepath.Join(outDir, JournalFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
