package shadow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// binaryFormat is the first byte of MarshalBinary's output.
const binaryFormat = 1

// maxBinaryDepth bounds the nesting UnmarshalBinary accepts: as deep as
// the parser lets a request go, so that every shadow MarshalBinary writes,
// whatever Limits.MaxDepth, can be read back.
const maxBinaryDepth = maxParseDepth

// MarshalBinary encodes the shadow for persistence: the exists flag, the
// version, and desired and reported with their metadata timestamps. Name
// and scratch space are not included.
func (s *Shadow) MarshalBinary() ([]byte, error) {
	b := []byte{binaryFormat, 0}
	if s.exists {
		b[1] = 1
	}
	b = binary.AppendVarint(b, s.version)
	for _, sec := range [2]node{s.desired, s.reported} {
		sec.typ = tObject // the zero Shadow's sections are untyped
		b = marshalNode(b, &sec)
	}
	return b, nil
}

func marshalNode(b []byte, n *node) []byte {
	if n.typ != tObject {
		b = append(b, byte(n.typ))
		b = binary.AppendUvarint(b, uint64(len(n.raw)))
		b = append(b, n.raw...)
		return binary.AppendVarint(b, n.ts)
	}
	b = append(b, byte(tObject))
	b = binary.AppendUvarint(b, uint64(len(n.kids)))
	for i := range n.kids {
		b = binary.AppendUvarint(b, uint64(len(n.kids[i].key)))
		b = append(b, n.kids[i].key...)
		b = marshalNode(b, &n.kids[i].val)
	}
	return b
}

// UnmarshalBinary restores a shadow written by MarshalBinary, keeping Name.
// It validates the encoding fully and leaves s unchanged on error.
func (s *Shadow) UnmarshalBinary(data []byte) error {
	if len(data) < 2 || data[0] != binaryFormat || data[1] > 1 {
		return fmt.Errorf("shadow: unmarshal: want format %d header, got % x", binaryFormat, data[:min(len(data), 2)])
	}
	d := decoder{b: data, i: 2}
	version, err := d.varint()
	if err != nil {
		return err
	}
	if version < 0 {
		return fmt.Errorf("shadow: unmarshal: negative version %d", version)
	}
	var desired, reported node
	if err := d.section(&desired); err != nil {
		return fmt.Errorf("%w (desired)", err)
	}
	if err := d.section(&reported); err != nil {
		return fmt.Errorf("%w (reported)", err)
	}
	if d.i != len(data) {
		return fmt.Errorf("shadow: unmarshal: %d trailing bytes", len(data)-d.i)
	}
	if data[1] == 0 && (len(desired.kids) > 0 || len(reported.kids) > 0) {
		return errors.New("shadow: unmarshal: a shadow that does not exist holds state")
	}
	s.exists, s.version = data[1] == 1, version
	s.desired, s.reported, s.encOK = desired, reported, false
	return nil
}

// decoder reads MarshalBinary's encoding.
type decoder struct {
	b []byte
	i int
	p parser
}

func (d *decoder) fail(what string) error {
	return fmt.Errorf("shadow: unmarshal: byte %d: %s", d.i, what)
}

func (d *decoder) varint() (int64, error) {
	v, n := binary.Varint(d.b[d.i:])
	if n <= 0 {
		return 0, d.fail("bad varint")
	}
	d.i += n
	return v, nil
}

// bytes returns a length-prefixed field; it aliases the input.
func (d *decoder) bytes() ([]byte, error) {
	l, n := binary.Uvarint(d.b[d.i:])
	if n <= 0 || l > uint64(len(d.b)-d.i-n) {
		return nil, d.fail("bad length")
	}
	d.i += n
	v := d.b[d.i : d.i+int(l) : d.i+int(l)]
	d.i += int(l)
	return v, nil
}

// section reads a top-level section, which must be an object.
func (d *decoder) section(n *node) error {
	if d.i >= len(d.b) || d.b[d.i] != byte(tObject) {
		return d.fail("want an object section")
	}
	return d.node(n, 0)
}

func (d *decoder) node(n *node, depth int) error {
	if depth > maxBinaryDepth {
		return d.fail("nesting too deep")
	}
	if d.i >= len(d.b) {
		return d.fail("truncated")
	}
	t := vtype(d.b[d.i])
	d.i++
	if t > tObject {
		return d.fail("unknown value type")
	}
	if t != tObject {
		raw, err := d.bytes()
		if err != nil {
			return err
		}
		ts, err := d.varint()
		if err != nil {
			return err
		}
		if v, ok := d.p.parse(raw); !ok || t == tNull || v.typ != t || compactLen(raw) != len(raw) || !utf8.Valid(raw) {
			return d.fail("invalid leaf value")
		}
		if t == tArray && arrayHoldsNull(raw) {
			return d.fail("array holds null")
		}
		*n = node{typ: t, raw: raw, ts: ts} // storedMember copies raw
		return nil
	}
	count, k := binary.Uvarint(d.b[d.i:])
	if k <= 0 || count > uint64(len(d.b)-d.i) {
		return d.fail("bad member count")
	}
	d.i += k
	*n = node{typ: tObject, kids: make([]member, 0, count)}
	for range count {
		key, err := d.bytes()
		if err != nil {
			return err
		}
		if !utf8.Valid(key) || n.find(key, -1) >= 0 {
			return d.fail("invalid or duplicate key")
		}
		var v node
		if err := d.node(&v, depth+1); err != nil {
			return err
		}
		if v.typ == tObject && len(v.kids) == 0 {
			return d.fail("empty object member")
		}
		n.kids = append(n.kids, storedMember(key, v))
	}
	return nil
}

// arrayHoldsNull reports whether a valid JSON array holds null at any depth.
func arrayHoldsNull(raw []byte) bool {
	var p parser
	v, _ := p.parse(raw)
	_, an := shape(&node{typ: tObject, kids: []member{{val: v}}}, 0, false)
	return an
}
