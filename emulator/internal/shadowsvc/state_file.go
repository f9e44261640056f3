package shadowsvc

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"path/filepath"
)

// stateMagic opens the single-file state and names its format version.
const stateMagic = "shadowsvc state v1\n"

// stateFile returns the path of the single-file state under dataDir: every
// shadow in one checksummed file. New reads it when the shadow log holds
// nothing yet, then replaces it with a snapshot of the log.
func stateFile(dataDir string) string {
	return filepath.Join(shadowDir(dataDir), "shadows.bin")
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
