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
// nil). Stored members also keep their key encoded with its colon, ready to
// append.
type member struct {
	key  []byte
	qkey []byte
	val  node
}

// storedMember makes a stored member named key (copied) with value v.
func storedMember(key []byte, v node) member {
	q := appendQuoted(make([]byte, 0, quotedLen(key)+1), key)
	q = append(q, ':')
	k := q[1 : 1+len(key) : 1+len(key)]
	if len(q) != len(key)+3 {
		k = cloneBytes(key)
	}
	return member{key: k, qkey: q, val: v}
}

// appendKey appends the member's key as "key":.
func (m *member) appendKey(b []byte) []byte {
	if m.qkey != nil {
		return append(b, m.qkey...)
	}
	b = appendQuoted(b, m.key)
	return append(b, ':')
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
