package shadow

import "strconv"

const hexDigits = "0123456789abcdef"

// appendQuoted appends s (decoded text) as a JSON string.
func appendQuoted[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// quotedLen is len(appendQuoted(nil, s)).
func quotedLen[T string | []byte](s T) int {
	n := len(s) + 2
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
			n++
		case c < 0x20:
			n += 5
		}
	}
	return n
}

// appendCompact appends the JSON text src without insignificant whitespace.
func appendCompact(b, src []byte) []byte {
	inStr := false
	start := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case ' ', '\t', '\n', '\r':
			b = append(b, src[start:i]...)
			start = i + 1
		}
	}
	return append(b, src[start:]...)
}

// compactLen is len(appendCompact(nil, src)).
func compactLen(src []byte) int {
	n := len(src)
	inStr := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case ' ', '\t', '\n', '\r':
			n--
		}
	}
	return n
}

// appendLeaf appends a leaf's JSON text (request arrays are compacted).
func appendLeaf(b []byte, n *node) []byte {
	if n.typ == tArray {
		return appendCompact(b, n.raw)
	}
	return append(b, n.raw...)
}

// leafLen is len(appendLeaf(nil, n)).
func leafLen(n *node) int {
	if n.typ == tArray {
		return compactLen(n.raw)
	}
	return len(n.raw)
}

// appendValue appends n as compact JSON, members in order.
func appendValue(b []byte, n *node) []byte {
	if n.isLeaf() {
		return appendLeaf(b, n)
	}
	b = append(b, '{')
	for i := range n.kids {
		if i > 0 {
			b = append(b, ',')
		}
		b = n.kids[i].appendMember(b)
	}
	return append(b, '}')
}

// tsText remembers the text of the last timestamp object written: most
// leaves of a document share a few timestamps.
type tsText struct {
	ts   int64
	n    int
	text [40]byte // {"timestamp":ts}
}

// appendTimestamp appends {"timestamp":ts}.
func (c *tsText) appendTimestamp(b []byte, ts int64) []byte {
	if c.n == 0 || c.ts != ts {
		t := append(c.text[:0], `{"timestamp":`...)
		t = strconv.AppendInt(t, ts, 10)
		t = append(t, '}')
		c.ts, c.n = ts, len(t)
	}
	return append(b, c.text[:c.n]...)
}

// appendMeta appends the metadata mirroring n: an object per object and a
// timestamp object per leaf. With stored each leaf gets its own stored
// timestamp; otherwise every leaf gets ts.
func (c *tsText) appendMeta(b []byte, n *node, ts int64, stored bool) []byte {
	if n.isLeaf() {
		if stored {
			return c.appendTimestamp(b, n.ts)
		}
		return c.appendTimestamp(b, ts)
	}
	b = append(b, '{')
	for i := range n.kids {
		if i > 0 {
			b = append(b, ',')
		}
		b = n.kids[i].appendKey(b)
		b = c.appendMeta(b, &n.kids[i].val, ts, stored)
	}
	return append(b, '}')
}

// valueLen is len(appendValue(nil, n)).
func valueLen(n *node) int {
	if n.isLeaf() {
		return leafLen(n)
	}
	if len(n.kids) == 0 {
		return 2
	}
	size := 1 + len(n.kids)
	for i := range n.kids {
		size += quotedLen(n.kids[i].key) + 1 + valueLen(&n.kids[i].val)
	}
	return size
}
