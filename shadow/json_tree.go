package shadow

import "bytes"

// vtype is the JSON type of a node.
type vtype uint8

const (
	tNull vtype = iota
	tFalse
	tTrue
	tNumber
	tString
	tArray
	tObject
)

// node is one JSON value. Objects hold their members in order; every other
// value (arrays included) is a leaf kept as its JSON text. In a stored shadow
// a leaf's text is compact and owned by the node, and ts is its metadata
// timestamp. In a parsed request, text aliases the payload, array text may
// hold insignificant whitespace, and arrays also list their elements in kids.
type node struct {
	typ  vtype
	raw  []byte
	kids []member
	ts   int64
}

// member is one object member (key decoded) or one array element (key
// nil). A stored member also keeps its encoding ready to append: enc is
// "key": (klen bytes) followed, for a leaf, by the leaf's text, which
// val.raw shares.
type member struct {
	key  []byte
	enc  []byte
	klen int
	val  node
}

// storedMember makes a stored member named key with value v: a stored
// object, or a leaf whose text is copied.
func storedMember(key []byte, v node) member {
	klen := quotedLen(key) + 1
	size := klen
	if v.isLeaf() {
		size += leafLen(&v)
	}
	m := member{enc: make([]byte, 0, size), klen: klen}
	m.enc = append(appendQuoted(m.enc, key), ':')
	m.key = m.enc[1 : 1+len(key) : 1+len(key)]
	if klen != len(key)+3 {
		m.key = cloneBytes(key) // the encoding holds escapes
	}
	if v.isLeaf() {
		m.setLeaf(&v, v.ts)
	} else {
		m.val = v
	}
	return m
}

// setLeaf stores a copy of the leaf src (request or stored) as the value of
// the stored member m, reusing its buffer when there is room.
func (m *member) setLeaf(src *node, ts int64) {
	size := m.klen + leafLen(src)
	if cap(m.enc) < size {
		enc := append(make([]byte, 0, size), m.enc[:m.klen]...)
		if m.klen == len(m.key)+3 {
			m.key = enc[1 : 1+len(m.key) : 1+len(m.key)]
		}
		m.enc = enc
	}
	m.enc = appendLeaf(m.enc[:m.klen], src)
	m.val = node{typ: src.typ, raw: m.enc[m.klen:len(m.enc):len(m.enc)], ts: ts}
}

// setObject makes the object v the value of the stored member m.
func (m *member) setObject(v node) {
	m.enc = m.enc[:m.klen]
	m.val = v
}

// appendKey appends the member's key as "key":.
func (m *member) appendKey(b []byte) []byte {
	if m.enc != nil {
		return append(b, m.enc[:m.klen]...)
	}
	b = appendQuoted(b, m.key)
	return append(b, ':')
}

// appendMember appends "key":value.
func (m *member) appendMember(b []byte) []byte {
	if m.enc != nil && m.val.isLeaf() {
		return append(b, m.enc...)
	}
	return appendValue(m.appendKey(b), &m.val)
}

// isLeaf reports whether n is stored as JSON text rather than members.
func (n *node) isLeaf() bool { return n.typ != tObject }

// find returns the index of the member named key, or -1. hint is the index
// to try first: desired and reported usually list keys in the same order.
func (n *node) find(key []byte, hint int) int {
	if hint >= 0 && hint < len(n.kids) && bytes.Equal(n.kids[hint].key, key) {
		return hint
	}
	for i := range n.kids {
		if bytes.Equal(n.kids[i].key, key) {
			return i
		}
	}
	return -1
}

// child returns the value of the member named key, or nil.
func (n *node) child(key string) *node {
	for i := range n.kids {
		if string(n.kids[i].key) == key {
			return &n.kids[i].val
		}
	}
	return nil
}

// remove deletes member i, keeping the order of the rest.
func (n *node) remove(i int) {
	copy(n.kids[i:], n.kids[i+1:])
	n.kids[len(n.kids)-1] = member{}
	n.kids = n.kids[:len(n.kids)-1]
}
