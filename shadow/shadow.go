package shadow

import "strconv"

// Shadow is one device shadow's state. The zero value is a shadow that never
// existed. A Shadow is not safe for concurrent use and must not be copied
// after first use (its buffers would be shared); snapshot it with
// MarshalBinary instead. Besides the state it keeps the encoded documents
// and parse scratch space for speed; Trim releases them.
type Shadow struct {
	_ noCopy

	// Name is the thing name for a classic shadow and the shadow name for a
	// named one: it is what the 404 message quotes.
	Name string

	exists   bool
	version  int64
	desired  node // an object; no members means the section is absent
	reported node

	// encState and encMeta cache the encoded sections (values and metadata,
	// without braces) while encOK; any change of state clears encOK.
	encState     []byte
	encMeta      []byte
	encDelta     []byte // the delta object, empty when there is no delta
	encDeltaMeta []byte
	desiredLen   int // encoded length of each section, 0 when absent
	reportedLen  int
	encOK        bool

	// Scratch reused from request to request.
	p       parser
	root    node
	tok     []byte
	outHint int // capacity to allocate for the next update's documents
}

// Result is the outcome of one request: the documents to publish on the
// reply topics. Every byte slice is freshly allocated by the call and never
// touched again by the Shadow, so it may be handed to an asynchronous
// broker. The slices of one call may share one allocation.
type Result struct {
	Code        int    // 0 when accepted, else the rejection code
	Accepted    []byte // */accepted document (nil when rejected)
	Rejected    []byte // */rejected error document (nil when accepted)
	Documents   []byte // update only: update/documents
	Delta       []byte // update only: update/delta, nil when the delta is empty
	Version     int64  // version after the request (0 when rejected)
	ClientToken string // the request's token, "" when none
}

// noCopy makes go vet's copylocks check report copies of a Shadow.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// Trim releases the scratch buffers and cached encodings, keeping the
// state; the next request rebuilds what it needs. An emulator holding a
// large fleet can trim shadows that go idle.
func (s *Shadow) Trim() {
	s.p = parser{}
	s.root, s.tok, s.outHint = node{}, nil, 0
	s.encState, s.encMeta, s.encDelta, s.encDeltaMeta, s.encOK = nil, nil, nil, nil, false
}

// Exists reports whether the shadow exists: created and not deleted since.
func (s *Shadow) Exists() bool { return s.exists }

// Version returns the shadow's current version; a deleted shadow keeps its
// last version, and one never created has version 0.
func (s *Shadow) Version() int64 { return s.version }

// Update applies an update request (reference §2.1) at time now (Unix
// seconds) and returns the accepted, documents and delta documents, or the
// rejection. A rejected update leaves the shadow unchanged.
func (s *Shadow) Update(payload []byte, now int64, lim Limits) Result {
	defer s.forgetRequest()
	lim = lim.withDefaults()
	req, rej := s.parseUpdate(payload, lim)
	if rej != nil {
		return s.reject(rej, &req)
	}
	if req.hasVersion && req.version != s.version {
		return s.reject(&Error{409, MsgVersionConflict}, &req)
	}
	if !req.stateNull && s.mergedStateSize(&req) > lim.MaxStateBytes {
		return s.reject(&Error{413, MsgPayloadTooLarge}, &req)
	}
	version := s.version + 1

	out := make([]byte, 0, s.outHint)
	out = appendUpdateAccepted(out, &req, version, now)
	accEnd := len(out)

	out = append(out, '{')
	if s.exists {
		out = append(out, `"previous":`...)
		out = s.appendDocument(out)
		out = append(out, ',')
	}
	if req.stateNull {
		s.desired, s.reported = node{typ: tObject}, node{typ: tObject}
	} else {
		mergeSection(&s.desired, &req.desired, now)
		mergeSection(&s.reported, &req.reported, now)
	}
	s.exists, s.version, s.encOK = true, version, false
	out = append(out, `"current":`...)
	out = s.appendDocument(out)
	out = append(out, `,"timestamp":`...)
	out = strconv.AppendInt(out, now, 10)
	out = append(out, '}')
	docEnd := len(out)

	out, hasDelta := s.appendDeltaDocument(out, &req, now)
	s.outHint = len(out) + len(out)/32 + 16

	r := Result{
		Accepted:    out[:accEnd:accEnd],
		Documents:   out[accEnd:docEnd:docEnd],
		Version:     version,
		ClientToken: tokenString(&req),
	}
	if hasDelta {
		r.Delta = out[docEnd:len(out):len(out)]
	}
	return r
}

// Get answers a get request: the body is empty or carries clientToken and
// version. The accepted document holds the full state, the delta when it is
// not empty, metadata, version, the time of the request and the token.
func (s *Shadow) Get(payload []byte, now int64, lim Limits) Result {
	defer s.forgetRequest()
	lim = lim.withDefaults()
	req, rej := s.parseBody(payload, lim)
	if rej == nil {
		rej = s.checkExisting(&req)
	}
	if rej != nil {
		return s.reject(rej, &req)
	}
	s.encode()
	// {"state":{…,"delta":…},"metadata":{…},"version":N,"timestamp":T,"clientToken":"…"}
	size := len(s.encState) + len(s.encDelta) + len(s.encMeta) + 96 + 2*len(req.token)
	out := make([]byte, 0, size)
	out = append(out, `{"state":{`...)
	out = append(out, s.encState...)
	mark := len(out)
	if mark > len(`{"state":{`) {
		out = append(out, ',')
	}
	if len(s.encDelta) > 0 {
		out = append(out, `"delta":`...)
		out = append(out, s.encDelta...)
	} else {
		out = out[:mark]
	}
	out = append(out, `},"metadata":{`...)
	out = append(out, s.encMeta...)
	out = appendTail(out, s.version, now, &req)
	return Result{Accepted: out[:len(out):len(out)], Version: s.version, ClientToken: tokenString(&req)}
}

// Delete answers a delete request: the body may carry clientToken and
// version. The shadow's state goes; its version stays, and an update that
// re-creates the shadow continues from it.
func (s *Shadow) Delete(payload []byte, now int64, lim Limits) Result {
	defer s.forgetRequest()
	lim = lim.withDefaults()
	req, rej := s.parseBody(payload, lim)
	if rej == nil {
		rej = s.checkExisting(&req)
	}
	if rej != nil {
		return s.reject(rej, &req)
	}
	s.exists, s.encOK = false, false
	s.desired, s.reported = node{typ: tObject}, node{typ: tObject}
	out := make([]byte, 0, len(`{"version":,"timestamp":,"clientToken":}`)+2*20+quotedLen(req.token))
	out = append(out, `{"version":`...)
	out = strconv.AppendInt(out, s.version, 10)
	out = append(out, `,"timestamp":`...)
	out = strconv.AppendInt(out, now, 10)
	out = appendToken(out, &req)
	out = append(out, '}')
	return Result{Accepted: out, Version: s.version, ClientToken: tokenString(&req)}
}

// forgetRequest drops the references the parse scratch holds into the
// caller's payload, so that a Shadow never keeps a payload alive.
func (s *Shadow) forgetRequest() {
	s.root = node{}
	s.p.data = nil
	clear(s.p.pool)
	s.p.pool = s.p.pool[:0]
	// A parse that failed midway leaves members on the stack.
	clear(s.p.stack)
	s.p.stack = s.p.stack[:0]
}

// checkExisting rejects a get or delete of a missing shadow (404) or at the
// wrong version (409).
func (s *Shadow) checkExisting(req *request) *Error {
	if !s.exists {
		return &Error{404, NotFoundMessage(s.Name)}
	}
	if req.hasVersion && req.version != s.version {
		return &Error{409, MsgVersionConflict}
	}
	return nil
}

// reject builds the rejection result for e. Like the accepted documents,
// it echoes the token whenever the request had one, even an empty one.
func (s *Shadow) reject(e *Error, req *request) Result {
	size := len(`{"code":000,"message":}`) + quotedLen(e.Message)
	if req.hasToken {
		size += len(`,"clientToken":`) + quotedLen(req.token)
	}
	return Result{
		Code:        e.Code,
		Rejected:    appendErrorDocument(make([]byte, 0, size), e.Code, e.Message, req.token, req.hasToken),
		ClientToken: tokenString(req),
	}
}

func tokenString(req *request) string {
	if !req.hasToken {
		return ""
	}
	return string(req.token)
}

// appendToken appends ,"clientToken":"…" when the request had a token.
func appendToken(b []byte, req *request) []byte {
	if !req.hasToken {
		return b
	}
	b = append(b, `,"clientToken":`...)
	return appendQuoted(b, req.token)
}

// appendTail closes a metadata object and appends version, timestamp and
// the token: },"version":N,"timestamp":T,"clientToken":"…"}.
func appendTail(b []byte, version, now int64, req *request) []byte {
	b = append(b, `},"version":`...)
	b = strconv.AppendInt(b, version, 10)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, now, 10)
	b = appendToken(b, req)
	return append(b, '}')
}

// appendSections appends the non-empty stored sections, as values or as
// their metadata, without the enclosing braces, and returns the length of
// each section's object (0 when absent).
func (s *Shadow) appendSections(b []byte, meta bool, c *tsText) (out []byte, dLen, rLen int) {
	lens := [2]int{}
	for i, sec := range [2]struct {
		key string
		n   *node
	}{{desiredKey, &s.desired}, {reportedKey, &s.reported}} {
		if len(sec.n.kids) == 0 {
			continue
		}
		if i > 0 && lens[0] > 0 {
			b = append(b, ',')
		}
		b = append(b, sec.key...)
		start := len(b)
		if meta {
			b = c.appendMeta(b, sec.n, 0, true)
		} else {
			b = appendValue(b, sec.n)
		}
		lens[i] = len(b) - start
	}
	return b, lens[0], lens[1]
}

// encode fills the cache of encoded sections when it is stale.
func (s *Shadow) encode() {
	if s.encOK {
		return
	}
	var c tsText
	s.encState, s.desiredLen, s.reportedLen = s.appendSections(s.encState[:0], false, &c)
	s.encMeta, _, _ = s.appendSections(s.encMeta[:0], true, &c)
	w := deltaWriter{val: s.encDelta[:0], meta: s.encDeltaMeta[:0], ts: c}
	w.object(&s.desired, &s.reported)
	s.encDelta, s.encDeltaMeta = w.val, w.meta
	s.encOK = true
}

// appendDocument appends {"state":{…},"metadata":{…},"version":N} as
// update/documents shows it.
func (s *Shadow) appendDocument(b []byte) []byte {
	s.encode()
	b = append(b, `{"state":{`...)
	b = append(b, s.encState...)
	b = append(b, `},"metadata":{`...)
	b = append(b, s.encMeta...)
	b = append(b, `},"version":`...)
	b = strconv.AppendInt(b, s.version, 10)
	return append(b, '}')
}

// appendUpdateAccepted appends update/accepted: the sections and fields as
// sent, their metadata at now, version, timestamp and token.
func appendUpdateAccepted(b []byte, req *request, version, now int64) []byte {
	if req.stateNull {
		b = append(b, `{"state":null,"metadata":{"timestamp":`...)
		b = strconv.AppendInt(b, now, 10)
		return appendTail(b, version, now, req)
	}
	b = append(b, `{"state":`...)
	var c tsText
	b = appendEcho(b, req.state, false, now, &c)
	b = append(b, `,"metadata":`...)
	b = appendEcho(b, req.state, true, now, &c)
	b = b[:len(b)-1]
	return appendTail(b, version, now, req)
}

// appendEcho appends the desired and reported members of the request's
// state in the order sent, as values or (meta) as metadata at ts.
func appendEcho(b []byte, state *node, meta bool, ts int64, c *tsText) []byte {
	b = append(b, '{')
	for i := range state.kids {
		m := &state.kids[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = m.appendKey(b)
		if meta {
			b = c.appendMeta(b, &m.val, ts, false)
		} else {
			b = appendValue(b, &m.val)
		}
	}
	return append(b, '}')
}

// appendDeltaDocument appends update/delta when desired and reported
// differ: the whole delta, the desired metadata of its fields, and the
// update's version, timestamp and token.
func (s *Shadow) appendDeltaDocument(b []byte, req *request, now int64) ([]byte, bool) {
	s.encode()
	if len(s.encDelta) == 0 {
		return b, false
	}
	b = append(b, `{"state":`...)
	b = append(b, s.encDelta...)
	b = append(b, `,"metadata":`...)
	b = append(b, s.encDeltaMeta[:len(s.encDeltaMeta)-1]...)
	return appendTail(b, s.version, now, req), true
}

// deltaWriter appends the delta of desired against reported to two
// buffers in one walk: the values and the desired metadata of those fields.
type deltaWriter struct {
	val, meta []byte
	ts        tsText
}

// object appends the delta of the desired object d against r (nil when
// reported lacks it) and reports whether it has any member; when it has
// none, nothing is appended.
func (w *deltaWriter) object(d, r *node) bool {
	startV, startM := len(w.val), len(w.meta)
	w.val = append(w.val, '{')
	w.meta = append(w.meta, '{')
	n := 0
	for i := range d.kids {
		m := &d.kids[i]
		var rv *node
		if r != nil && r.typ == tObject {
			if j := r.find(m.key, i); j >= 0 {
				rv = &r.kids[j].val
			}
		}
		if rv != nil && (m.val.typ != tObject || rv.typ != tObject) && equalValue(&m.val, rv) {
			continue
		}
		markV, markM := len(w.val), len(w.meta)
		if n > 0 {
			w.val = append(w.val, ',')
			w.meta = append(w.meta, ',')
		}
		w.meta = m.appendKey(w.meta)
		if m.val.typ == tObject && rv != nil && rv.typ == tObject {
			w.val = m.appendKey(w.val)
			if !w.object(&m.val, rv) {
				w.val, w.meta = w.val[:markV], w.meta[:markM]
				continue
			}
		} else {
			w.val = m.appendMember(w.val)
			w.meta = w.ts.appendMeta(w.meta, &m.val, 0, true)
		}
		n++
	}
	if n == 0 {
		w.val, w.meta = w.val[:startV], w.meta[:startM]
		return false
	}
	w.val = append(w.val, '}')
	w.meta = append(w.meta, '}')
	return true
}
