package emulator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"
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
	// tailMu guards wf, which is replaced when the log file was, and
	// closed.
	r.tailMu.Lock()
	if r.closed {
		r.tailMu.Unlock()
		return errors.New("emulator: registry is closed")
	}
	err = r.withFileLock(func() error {
		// Under the lock no process compacts: if the file at the path is
		// not the one wf writes to, it was replaced, and appending to the
		// old one would lose the record.
		if err := r.reopenWriterIfReplaced(); err != nil {
			return err
		}
		_, err := r.wf.Write(line)
		return err
	})
	r.tailMu.Unlock()
	if err != nil {
		return fmt.Errorf("emulator: append to %s: %w", r.path, err)
	}
	_, err = r.Refresh()
	return err
}

// withFileLock runs fn holding the registry's lock file.
func (r *Registry) withFileLock(fn func() error) error {
	if err := lockFile(r.lock); err != nil {
		return fmt.Errorf("lock %s: %w", r.lock.Name(), err)
	}
	err := fn()
	if uerr := unlockFile(r.lock); err == nil && uerr != nil {
		err = fmt.Errorf("unlock %s: %w", r.lock.Name(), uerr)
	}
	return err
}

// reopenWriterIfReplaced points wf at the file now at the log's path.
func (r *Registry) reopenWriterIfReplaced() error {
	onDisk, err := os.Stat(r.path)
	if err != nil {
		return err
	}
	open, err := r.wf.Stat()
	if err != nil {
		return err
	}
	if os.SameFile(onDisk, open) {
		return nil
	}
	wf, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_ = r.wf.Close()
	r.wf = wf
	return nil
}

// Refresh applies the records appended to the log since the last call, by
// this process or any other, and reports how many it applied. A trailing line
// without its newline is left for the next call. When the log file was
// replaced (compacted by another process) or truncated, the registry is
// rebuilt from the new file's start and swapped in whole, so lookups never see
// it half read. Status changes are reported to the emulator after they are
// applied. A log that has grown far beyond its state is compacted.
func (r *Registry) Refresh() (int, error) {
	r.tailMu.Lock()
	if r.closed {
		r.tailMu.Unlock()
		return 0, errors.New("emulator: registry is closed")
	}
	var changed []statusChange
	applied, firstErr, err := r.catchUp(&changed)
	if err == nil && firstErr == nil && r.shouldCompact() {
		err = r.withFileLock(func() error {
			// Records appended by others before we held the lock.
			n, ferr, err := r.catchUp(&changed)
			applied += n
			if err == nil && ferr == nil {
				err = r.compact()
			}
			return errors.Join(err, ferr)
		})
		if err != nil {
			err = fmt.Errorf("emulator: compact %s: %w", r.path, err)
		}
	}
	r.tailMu.Unlock()

	r.notify(changed)
	if err != nil {
		return applied, err
	}
	return applied, firstErr
}

// catchUp applies what the log holds beyond the offset, or rebuilds the
// registry when the file was replaced or truncated. err is an I/O failure;
// firstErr the first bad record, which is skipped.
func (r *Registry) catchUp(changed *[]statusChange) (applied int, firstErr, err error) {
	replaced, err := r.reopenIfReplaced()
	if err != nil {
		return 0, nil, err
	}
	if replaced {
		return r.rebuild(changed)
	}
	data, err := r.readNew()
	if err != nil {
		return 0, nil, err
	}
	r.mu.Lock()
	applied, firstErr = r.applyLines(data, &r.registryState, changed, true)
	r.mu.Unlock()
	return applied, firstErr, nil
}

// applyLines applies the complete lines of data to st, advancing the offset
// and line count. live says st is the registry's own state, whose
// generation changes with every record that can change a permission.
func (r *Registry) applyLines(data []byte, st *registryState, changed *[]statusChange, live bool) (applied int, firstErr error) {
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return applied, firstErr
		}
		line := data[:i]
		data = data[i+1:]
		r.offset += int64(i + 1)
		r.line++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rec, err := decodeRecord(line)
		var perms bool
		if err == nil {
			perms, err = st.apply(rec, changed)
		}
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("emulator: %s:%d: %w", r.path, r.line, err)
			}
			continue
		}
		if perms && live {
			r.gen.Add(1)
		}
		applied++
	}
}

// rebuild reads the whole (replaced) log into a fresh state and swaps it in,
// reporting certificates whose status differs from before.
func (r *Registry) rebuild(changed *[]statusChange) (int, error, error) {
	r.offset, r.line = 0, 0
	data, err := r.readNew()
	if err != nil {
		return 0, nil, err
	}
	fresh := newRegistryState()
	applied, firstErr := r.applyLines(data, &fresh, nil, false)
	r.mu.Lock()
	old := r.registryState
	r.registryState = fresh
	r.mu.Unlock()
	r.gen.Add(1)
	for id, c := range fresh.certs {
		if was, ok := old.certs[id]; ok && was.Status != c.Status {
			*changed = append(*changed, statusChange{id, c.Status})
		}
	}
	return applied, firstErr, nil
}

// notify tells the status watchers about changed certificates; the caller
// holds no lock of the registry.
func (r *Registry) notify(changed []statusChange) {
	if len(changed) == 0 {
		return
	}
	r.watchMu.Lock()
	watchers := slices.Clone(r.watch)
	r.watchMu.Unlock()
	for _, c := range changed {
		for _, fn := range watchers {
			fn(c.cert, c.status)
		}
	}
}

// statusChange is a certificate whose status a refresh changed.
type statusChange struct {
	cert   string
	status CertStatus
}

// reopenIfReplaced reopens the log when the file at its path was replaced or
// truncated, and reports whether it did: the log must be read from its start.
func (r *Registry) reopenIfReplaced() (bool, error) {
	onDisk, err := os.Stat(r.path)
	if err != nil {
		return false, fmt.Errorf("emulator: registry log: %w", err)
	}
	open, err := r.rf.Stat()
	if err != nil {
		return false, fmt.Errorf("emulator: registry log: %w", err)
	}
	if os.SameFile(onDisk, open) && onDisk.Size() >= r.offset {
		return false, nil
	}
	rf, err := os.Open(r.path)
	if err != nil {
		return false, fmt.Errorf("emulator: reopen registry log: %w", err)
	}
	_ = r.rf.Close()
	r.rf = rf
	if err := r.reopenWriterIfReplaced(); err != nil {
		return false, fmt.Errorf("emulator: reopen registry log for append: %w", err)
	}
	return true, nil
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

// shouldCompact reports whether the log holds more than twice the records
// the registry's state needs, and at least compactLines.
func (r *Registry) shouldCompact() bool {
	if r.compactLines <= 0 || r.line < r.compactLines {
		return false
	}
	r.mu.RLock()
	needed := r.stateSize()
	r.mu.RUnlock()
	return r.line > 2*needed
}

// compact replaces the log with one record per policy and certificate. The
// caller holds tailMu and the lock file, and the registry has applied the
// whole log.
func (r *Registry) compact() error {
	recs := r.stateRecords()
	dir := filepath.Dir(r.path)
	f, err := os.CreateTemp(dir, RegistryFileName+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	w := bufio.NewWriter(f)
	var size int64
	for _, rec := range recs {
		line, jerr := json.Marshal(rec)
		if jerr != nil {
			err = jerr
			break
		}
		line = append(line, '\n')
		size += int64(len(line))
		if _, err = w.Write(line); err != nil {
			break
		}
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, r.path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	rf, err := os.Open(r.path)
	if err != nil {
		return err
	}
	_ = r.rf.Close()
	r.rf = rf
	if err := r.reopenWriterIfReplaced(); err != nil {
		return err
	}
	r.offset, r.line = size, len(recs)
	return nil
}

// stateRecords returns the records that rebuild the registry's state:
// every policy, every thing the cert records do not create by attaching
// to it, then every certificate, oldest first, with its status, policies
// and things; each keeps its creation time.
func (r *Registry) stateRecords() []record {
	r.mu.RLock()
	defer r.mu.RUnlock()
	now := time.Now().Unix()
	recs := make([]record, 0, r.stateSize())
	for _, n := range sortedKeys(r.policies) {
		p := r.policies[n]
		recs = append(recs, record{Op: opPolicy, Time: now, Name: n, Document: p.document,
			Created: p.created.Unix(), Modified: p.modified.Unix()})
	}
	for _, n := range sortedKeys(r.things) {
		if t := r.things[n]; !t.foldsIntoCert() {
			recs = append(recs, record{Op: opThing, Time: now, Thing: n, ID: t.ID, Attributes: t.Attributes,
				Created: t.Created.Unix()})
		}
	}
	certs := make([]*certEntry, 0, len(r.certs))
	for _, c := range r.certs {
		certs = append(certs, c)
	}
	sort.Slice(certs, func(i, j int) bool {
		if a, b := certs[i].Created, certs[j].Created; !a.Equal(b) {
			return a.Before(b)
		}
		return certs[i].ID < certs[j].ID
	})
	for _, c := range certs {
		id := c.ID
		recs = append(recs, record{Op: opCert, Time: now, Cert: id, PEM: string(c.PEM), Status: c.Status,
			Policies: slices.Clone(c.Policies), Things: slices.Clone(c.Things),
			Created: c.Created.Unix(), Modified: c.Modified.Unix()})
	}
	return recs
}

// stateSize is the number of records stateRecords writes; the caller holds
// mu.
func (r *Registry) stateSize() int { return len(r.policies) + len(r.certs) + r.loose }

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// syncDir fsyncs a directory so that a rename in it persists.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
