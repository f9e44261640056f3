package shadow

import "unicode/utf8"

// section is desired or reported as a request names it.
type section struct {
	present bool
	null    bool  // "desired":null removes the section
	obj     *node // the object when present and not null
}

// request is a validated update, get or delete request. Its nodes alias the
// payload and the Shadow's parser.
type request struct {
	token      []byte // decoded clientToken, nil when none
	hasToken   bool
	version    int64
	hasVersion bool
	stateNull  bool // {"state":null}
	state      *node
	desired    section
	reported   section
}

// parseUpdate validates an update request in AWS's order (reference §4).
// On rejection it still returns the token when the request carried a valid
// one, for the error document.
func (s *Shadow) parseUpdate(payload []byte, lim Limits) (request, *Error) {
	var req request
	root, rej := s.parseRoot(payload, lim, &req)
	if rej != nil {
		return req, rej
	}
	st := root.child("state")
	if st == nil {
		return req, &Error{400, MsgMissingState}
	}
	switch st.typ {
	case tNull:
		req.stateNull = true
	case tObject:
		req.state = st
	default:
		return req, &Error{400, MsgStateNotObject}
	}
	if req.state != nil {
		for i := range st.kids {
			m := &st.kids[i]
			var sec *section
			msg := MsgDesiredNotObject
			switch string(m.key) {
			case "desired":
				sec = &req.desired
			case "reported":
				sec, msg = &req.reported, MsgReportedNotObject
			default:
				continue
			}
			sec.present = true
			switch m.val.typ {
			case tNull:
				sec.null = true
			case tObject:
				sec.obj = &m.val
			default:
				return req, &Error{400, msg}
			}
		}
		for i := range st.kids {
			if k := string(st.kids[i].key); k != "desired" && k != "reported" {
				return req, &Error{400, MsgInvalidStateNode}
			}
		}
	}
	if rej := checkFields(root, lim, &req); rej != nil {
		return req, rej
	}
	depth, arrayNull := 0, false
	for _, sec := range [2]*section{&req.desired, &req.reported} {
		if sec.obj != nil {
			d, an := shape(sec.obj, 0, false)
			depth, arrayNull = max(depth, d), arrayNull || an
		}
	}
	if arrayNull {
		return req, &Error{400, MsgInvalidJSON}
	}
	if depth > lim.MaxDepth {
		return req, &Error{400, NestingMessage(lim.MaxDepth)}
	}
	return req, nil
}

// parseBody validates a get or delete request: empty, or an object that may
// carry clientToken and version.
func (s *Shadow) parseBody(payload []byte, lim Limits) (request, *Error) {
	var req request
	if skipWS(payload, 0) == len(payload) {
		return req, nil
	}
	root, rej := s.parseRoot(payload, lim, &req)
	if rej != nil {
		return req, rej
	}
	return req, checkFields(root, lim, &req)
}

// parseRoot parses the payload as a JSON object, checks its encoding and
// notes a valid clientToken for rejection documents.
func (s *Shadow) parseRoot(payload []byte, lim Limits, req *request) (*node, *Error) {
	root, ok := s.p.parse(payload)
	if !ok {
		if s.p.tooDeep {
			return nil, &Error{400, NestingMessage(lim.MaxDepth)}
		}
		return nil, &Error{400, MsgInvalidJSON}
	}
	if root.typ != tObject {
		return nil, &Error{400, MsgInvalidJSON}
	}
	s.root = root
	if t := s.root.child("clientToken"); t != nil && t.typ == tString {
		tok := t.raw[1 : len(t.raw)-1]
		if hasByte(tok, '\\') {
			s.tok = appendUnescaped(s.tok[:0], tok)
			tok = s.tok
		}
		if len(tok) <= lim.MaxClientTokenBytes && utf8.Valid(tok) {
			req.token, req.hasToken = tok, true
		}
	}
	if !utf8.Valid(payload) {
		return nil, &Error{415, MsgUnsupportedEncode}
	}
	return &s.root, nil
}

// checkFields validates version and clientToken.
func checkFields(root *node, lim Limits, req *request) *Error {
	if v := root.child("version"); v != nil {
		n, ok := parseVersion(v)
		if !ok {
			return &Error{400, MsgInvalidVersion}
		}
		req.version, req.hasVersion = n, true
	}
	if t := root.child("clientToken"); t != nil && !req.hasToken {
		return &Error{400, MsgInvalidClientToken}
	}
	return nil
}

// parseVersion accepts a non-negative integer that fits an int64.
func parseVersion(v *node) (int64, bool) {
	if v.typ != tNumber || v.raw[0] == '-' {
		return 0, false
	}
	var n int64
	for _, c := range v.raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// shape returns the nesting depth below n (n at level) and whether an array
// below n holds a null at any depth.
func shape(n *node, level int, inArray bool) (depth int, arrayNull bool) {
	depth = level
	for i := range n.kids {
		v := &n.kids[i].val
		if v.typ == tNull && inArray {
			arrayNull = true
		}
		d, an := shape(v, level+1, inArray || v.typ == tArray)
		depth, arrayNull = max(depth, d), arrayNull || an
	}
	return depth, arrayNull
}

func hasByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}
