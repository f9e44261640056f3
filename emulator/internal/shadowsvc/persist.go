package shadowsvc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

// stateMagic opens the state file and names its format version.
const stateMagic = "shadowsvc state v1\n"

// stateFile returns the path of the state file under dataDir.
func stateFile(dataDir string) string {
	return filepath.Join(dataDir, "shadows", "shadows.bin")
}

// record is one persisted shadow: its key and its shadow.MarshalBinary form.
type record struct {
	key  key
	blob []byte
}

// encodeState returns the state file's bytes for recs: the magic, the record
// count, each record as length-prefixed thing, name and shadow bytes, and a
// CRC-32 (IEEE, big-endian) of everything before it.
func encodeState(recs []record) []byte {
	b := append([]byte(nil), stateMagic...)
	b = binary.AppendUvarint(b, uint64(len(recs)))
	for _, r := range recs {
		b = binary.AppendUvarint(b, uint64(len(r.key.thing)))
		b = append(b, r.key.thing...)
		b = binary.AppendUvarint(b, uint64(len(r.key.name)))
		b = append(b, r.key.name...)
		b = binary.AppendUvarint(b, uint64(len(r.blob)))
		b = append(b, r.blob...)
	}
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// decodeState parses a state file made by encodeState. Errors give the byte
// offset and what was expected there.
func decodeState(b []byte) ([]record, error) {
	if len(b) < len(stateMagic)+4 || string(b[:len(stateMagic)]) != stateMagic {
		return nil, fmt.Errorf("offset 0: want the header %q", stateMagic)
	}
	body := b[:len(b)-4]
	if got, want := crc32.ChecksumIEEE(body), binary.BigEndian.Uint32(b[len(b)-4:]); got != want {
		return nil, fmt.Errorf("offset %d: checksum %08x, want %08x (file truncated or damaged)", len(body), want, got)
	}
	d := decoder{b: body, off: len(stateMagic)}
	n, err := d.uvarint("record count")
	if err != nil {
		return nil, err
	}
	// Each record takes at least three bytes, which bounds a bogus count.
	if n > uint64(len(body)-d.off)/3 {
		return nil, fmt.Errorf("offset %d: record count %d exceeds what %d bytes can hold", len(stateMagic), n, len(body)-d.off)
	}
	recs := make([]record, 0, n)
	seen := make(map[key]bool, n)
	for i := range n {
		start := d.off
		thing, err := d.bytes("thing name")
		if err != nil {
			return nil, err
		}
		name, err := d.bytes("shadow name")
		if err != nil {
			return nil, err
		}
		blob, err := d.bytes("shadow data")
		if err != nil {
			return nil, err
		}
		k := key{thing: string(thing), name: string(name)}
		if k.thing == "" {
			return nil, fmt.Errorf("offset %d: record %d has an empty thing name", start, i)
		}
		if seen[k] {
			return nil, fmt.Errorf("offset %d: record %d repeats shadow %q of thing %q", start, i, k.name, k.thing)
		}
		seen[k] = true
		recs = append(recs, record{key: k, blob: blob})
	}
	if d.off != len(body) {
		return nil, fmt.Errorf("offset %d: %d bytes after the last record, want the checksum", d.off, len(body)-d.off)
	}
	return recs, nil
}

// decoder reads the state file's fields, tracking the offset for errors.
type decoder struct {
	b   []byte
	off int
}

// uvarint reads a varint field described by what.
func (d *decoder) uvarint(what string) (uint64, error) {
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		return 0, fmt.Errorf("offset %d: want the %s as a varint", d.off, what)
	}
	d.off += n
	return v, nil
}

// bytes reads a length-prefixed field described by what.
func (d *decoder) bytes(what string) ([]byte, error) {
	at := d.off
	n, err := d.uvarint("length of the " + what)
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.b)-d.off) {
		return nil, fmt.Errorf("offset %d: %s of %d bytes runs past the end (%d left)", at, what, n, len(d.b)-d.off)
	}
	v := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return v, nil
}

// load reads the state file into the store; a missing file is an empty state.
func (s *Service) load() error {
	b, err := os.ReadFile(s.file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("shadowsvc: load shadows: %w", err)
	}
	recs, err := decodeState(b)
	if err != nil {
		return fmt.Errorf("shadowsvc: load shadows from %s: %w", s.file, err)
	}
	for _, r := range recs {
		e := s.store.get(r.key)
		if err := e.sh.UnmarshalBinary(r.blob); err != nil {
			return fmt.Errorf("shadowsvc: load shadows from %s: shadow %q of thing %q: %w", s.file, r.key.name, r.key.thing, err)
		}
		if e.sh.Name == "" {
			e.sh.Name = displayName(r.key)
		}
	}
	return nil
}

// persist writes every shadow that exists or has a version to keep to the
// state file, atomically, holding each shadow's lock while reading it. With
// no data directory it only waits for requests being handled.
func (s *Service) persist() error {
	var recs []record
	var merr error
	s.store.each(func(e *entry) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if s.file == "" || (!e.sh.Exists() && e.sh.Version() == 0) {
			return
		}
		blob, err := e.sh.MarshalBinary()
		if err != nil {
			merr = errors.Join(merr, fmt.Errorf("shadow %q of thing %q: %w", e.key.name, e.key.thing, err))
			return
		}
		recs = append(recs, record{key: e.key, blob: blob})
	})
	if merr != nil {
		return fmt.Errorf("shadowsvc: save shadows: %w", merr)
	}
	if s.file == "" {
		return nil
	}
	if err := writeAtomic(s.file, encodeState(recs)); err != nil {
		return fmt.Errorf("shadowsvc: save shadows: %w", err)
	}
	return nil
}

// writeAtomic replaces path with data: it writes and syncs a temporary file
// in the same directory, renames it over path and syncs the directory.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
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
