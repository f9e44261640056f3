package shadow

// Section keys as encoded, with the colon.
const (
	desiredKey  = `"desired":`
	reportedKey = `"reported":`
)

// mergedStateSize is the size of the stored state after applying req: the
// length of the compact {"desired":…,"reported":…} with only non-empty
// sections, without metadata. It walks only the parts the request names.
func (s *Shadow) mergedStateSize(req *request) int {
	s.encode()
	d := sectionSize(&s.desired, &req.desired, s.desiredLen)
	r := sectionSize(&s.reported, &req.reported, s.reportedLen)
	size := 2
	if d > 0 {
		size += len(desiredKey) + d
	}
	if r > 0 {
		size += len(reportedKey) + r
	}
	if d > 0 && r > 0 {
		size++
	}
	return size
}

// sectionSize is the encoded size of a stored section (storedLen bytes
// now, 0 when absent) after the request's change to it, or 0 when the
// section ends up empty.
func sectionSize(stored *node, sec *section, storedLen int) int {
	switch {
	case sec.null:
		return 0
	case sec.obj != nil:
		size, n := mergedSize(stored, sec.obj, storedLen)
		if n == 0 {
			return 0
		}
		return size
	}
	return storedLen
}

// mergedSize returns the encoded size and member count of the object
// merge(o, u) without building it; oLen is valueLen(o). o may be nil or a
// leaf, which merge treats as an empty object.
func mergedSize(o, u *node, oLen int) (size, count int) {
	sum := 0 // the members' sizes, without commas and braces
	stored := o != nil && o.typ == tObject && len(o.kids) > 0
	if stored {
		count = len(o.kids)
		sum = oLen - 2 - (count - 1)
	}
	for j := range u.kids {
		m := &u.kids[j]
		oldLen, newLen := 0, 0
		var old *node
		if stored {
			if i := o.find(m.key, j); i >= 0 {
				old = &o.kids[i].val
				oldLen = valueLen(old)
				sum -= o.kids[i].klen + oldLen
				count--
			}
		}
		if m.val.typ == tObject {
			if n, c := mergedSize(old, &m.val, oldLen); c > 0 {
				newLen = n
			}
		} else if m.val.typ != tNull {
			newLen = leafLen(&m.val)
		}
		if newLen > 0 {
			sum += quotedLen(m.key) + 1 + newLen
			count++
		}
	}
	if count == 0 {
		return 2, 0
	}
	return sum + 2 + count - 1, count
}

// mergeSection applies a request section to a stored section.
func mergeSection(stored *node, sec *section, ts int64) {
	switch {
	case sec.null:
		*stored = node{typ: tObject}
	case sec.obj != nil:
		stored.typ = tObject
		mergeObject(stored, sec.obj, ts)
	}
}

// mergeObject deep-merges the request object u into the stored object o:
// null removes a member, objects merge, anything else replaces, and an
// object left empty is removed. New members go last in request order.
func mergeObject(o, u *node, ts int64) {
	for j := range u.kids {
		m := &u.kids[j]
		i := o.find(m.key, j)
		switch {
		case m.val.typ == tNull:
			if i >= 0 {
				o.remove(i)
			}
		case m.val.typ == tObject:
			if i >= 0 && o.kids[i].val.typ == tObject {
				mergeObject(&o.kids[i].val, &m.val, ts)
				if len(o.kids[i].val.kids) == 0 {
					o.remove(i)
				}
				continue
			}
			c := node{typ: tObject}
			mergeObject(&c, &m.val, ts)
			switch {
			case len(c.kids) == 0 && i >= 0:
				o.remove(i)
			case len(c.kids) == 0:
			case i >= 0:
				o.kids[i].setObject(c)
			default:
				o.kids = append(o.kids, storedMember(m.key, c))
			}
		default:
			if i >= 0 {
				o.kids[i].setLeaf(&m.val, ts)
				continue
			}
			v := m.val
			v.ts = ts
			o.kids = append(o.kids, storedMember(m.key, v))
		}
	}
}

func cloneBytes(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}
