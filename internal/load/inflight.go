package load

import "strconv"

// Op is a shadow operation the harness sends.
type Op uint8

// Operations.
const (
	OpUpdate Op = iota
	OpGet
	OpDelete
	numOps
)

func (o Op) String() string {
	switch o {
	case OpUpdate:
		return "update"
	case OpGet:
		return "get"
	case OpDelete:
		return "delete"
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// request is one outstanding shadow request of a connection: what was sent,
// when it was due and when it actually left.
type request struct {
	gen      uint32 // bumped on every use, so a late reply to a freed slot is recognised
	busy     bool
	op       Op
	shadow   uint8
	desired  bool  // an update that wrote desired: a delta must follow
	verify   bool  // a get that reads the shadow back once the schedule has ended
	left     bool  // the publish went out: a slot taken for a request that never left is not one
	phase    int32 // the phase of the slot it was sent for
	seq      int64 // send order on this connection
	intended int64 // ns since the run's start: the slot's time from the schedule
	sent     int64 // ns since the run's start: when the publish was handed to the client
}

// inflight is a connection's table of outstanding requests, at most cap of
// them. The clientToken of a request names its slot and generation, so a
// reply finds its request without a map or a lock. Only the worker that owns
// the connection touches it.
type inflight struct {
	slots []request
	used  int
}

func newInflight(cap int) inflight {
	return inflight{slots: make([]request, cap)}
}

// acquire returns a free slot index, or -1 when the table is full.
func (f *inflight) acquire() int {
	if f.used == len(f.slots) {
		return -1
	}
	for i := range f.slots {
		if !f.slots[i].busy {
			f.slots[i].busy = true
			f.slots[i].gen++
			f.used++
			return i
		}
	}
	return -1
}

// lookup returns the outstanding request a token names, or nil when the
// token is not one of ours or its request already ended (timed out).
func (f *inflight) lookup(slot int, gen uint32) *request {
	if slot < 0 || slot >= len(f.slots) {
		return nil
	}
	r := &f.slots[slot]
	if !r.busy || r.gen != gen {
		return nil
	}
	return r
}

// release frees a slot.
func (f *inflight) release(slot int) {
	if f.slots[slot].busy {
		f.slots[slot].busy = false
		f.used--
	}
}

// appendToken appends the clientToken for slot and gen: base 36 of
// gen<<8 | slot, a few bytes, far inside AWS's 64-byte limit.
func appendToken(dst []byte, slot int, gen uint32) []byte {
	return strconv.AppendUint(dst, uint64(gen)<<8|uint64(slot), 36)
}

// parseToken reverses appendToken. ok is false for a token the harness did
// not make.
func parseToken(tok string) (slot int, gen uint32, ok bool) {
	if tok == "" || len(tok) > 13 {
		return 0, 0, false
	}
	v, err := strconv.ParseUint(tok, 36, 64)
	if err != nil || v>>40 != 0 {
		return 0, 0, false
	}
	return int(v & 0xff), uint32(v >> 8), true
}

// maxBacklog bounds the slots one connection holds back while its in-flight
// cap is reached; past it a slot is skipped.
const maxBacklog = 64

// pending is a slot held back until the connection has room in flight.
type pending struct {
	intended int64
	op       Op
	shadow   uint8
	write    Section
	phase    int32
}

// backlog is a connection's queue of held-back slots, oldest first. Only the
// owning worker touches it.
type backlog struct {
	q    []pending
	head int
}

func (b *backlog) len() int { return len(b.q) - b.head }

// push adds a slot; it reports false when the backlog is full.
func (b *backlog) push(p pending) bool {
	if b.len() >= maxBacklog {
		return false
	}
	if b.head > 0 && len(b.q) == cap(b.q) {
		n := copy(b.q, b.q[b.head:])
		b.q, b.head = b.q[:n], 0
	}
	b.q = append(b.q, p)
	return true
}

// pop removes and returns the oldest slot.
func (b *backlog) pop() (pending, bool) {
	if b.len() == 0 {
		return pending{}, false
	}
	p := b.q[b.head]
	b.head++
	if b.head == len(b.q) {
		b.q, b.head = b.q[:0], 0
	}
	return p, true
}
