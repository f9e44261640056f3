package broker

import (
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// delivery is one message bound for one client.
type delivery struct {
	m      *message
	qos    byte
	retain bool // the RETAIN flag to send
}

// inflightSlot is an unacknowledged QoS 1 delivery.
type inflightSlot struct {
	d    delivery
	id   uint16
	seq  uint64
	used bool
}

// outbound is a connection's send side: control packets already encoded,
// deliveries waiting, QoS 1 deliveries in flight. Whoever queues something
// sends it (see flushLocked) unless the reader holds writes while handling
// a packet: what is ready is encoded into one buffer, given to TLS in one
// Write, so several small packets share a record, and written to the
// socket without waiting. What the socket does not take stays in the
// wire, and nothing more is encoded until it is gone: the poller writes it
// when the socket is writable (or a writer goroutine does, on the portable
// path), and deliveries meanwhile wait in pending, bounded.
type outbound struct {
	mu       sync.Mutex
	ctrl     []byte
	acks     int // PUBACKs in ctrl
	pending  ring
	bytes    int // payload bytes pending
	inflight []inflightSlot
	inUse    int
	nextID   uint16
	seq      uint64
	hold     bool // the reader is handling packets and flushes after them
	// detached: the session moved on (takeover or end); deliveries go back
	// to the session. closed: the socket is gone; nothing more is written.
	detached, closed bool
	// closeAfter: a server DISCONNECT is queued; nothing is sent after it
	// and the socket is closed once it is written (closeWhenSent: it is
	// in the wire).
	closeAfter, closeWhenSent bool
	dropped                   uint64
	// sending: bytes wait in the wire for the socket to take them; the
	// polled socket last took some at stallSince (ns). A client that takes
	// nothing for WriteTimeout is disconnected (the portable path's
	// writer has a write deadline instead).
	sending    bool
	stallSince int64
	// writer: the portable path's writer goroutine runs.
	writer bool
	// ending: teardown is waiting for the writer goroutines, so none may
	// start; what is queued meanwhile goes back to the session at detach.
	ending bool
	// delayed: the byte rate holds the wire's bytes back for a while.
	delayed bool
	// inputEnded and readPaused stop the poller reading: the connection's
	// input ended (a DISCONNECT is on its way), or its byte rate is spent
	// until a timer resumes it.
	inputEnded, readPaused bool
}

// ring is a FIFO of deliveries.
type ring struct {
	buf        []delivery
	head, size int
}

func (r *ring) push(d delivery) {
	if r.size == len(r.buf) {
		n := max(8, 2*len(r.buf))
		nb := make([]delivery, n)
		for i := range r.size {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.size)%len(r.buf)] = d
	r.size++
}

func (r *ring) front() *delivery { return &r.buf[r.head] }

func (r *ring) pop() delivery {
	d := r.buf[r.head]
	r.buf[r.head] = delivery{}
	r.head = (r.head + 1) % len(r.buf)
	r.size--
	if r.size == 0 {
		r.head = 0
		if len(r.buf) > 64 {
			r.buf = nil
		}
	}
	return d
}

// drain returns every delivery in order and empties r.
func (r *ring) drain() []delivery {
	out := make([]delivery, 0, r.size)
	for r.size > 0 {
		out = append(out, r.pop())
	}
	r.buf = nil
	return out
}

// writeBatch bounds the bytes taken into one write.
const writeBatch = 64 << 10

// maxCtrlBytes bounds the acknowledgements waiting for a client: one that
// keeps sending without reading them is disconnected.
const maxCtrlBytes = 256 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// canWriteLocked reports whether the writer has something it may send now.
func (c *Client) canWriteLocked() bool {
	o := &c.out
	if len(o.ctrl) > 0 {
		return true
	}
	if o.pending.size == 0 || o.detached {
		return false
	}
	return o.pending.front().qos == 0 || o.inUse < c.window
}

// sendCtrl queues an encoded control packet built by enc. Nothing is
// queued after a server DISCONNECT.
func (c *Client) sendCtrl(enc func([]byte) []byte) bool {
	o := &c.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || o.closeAfter || c.ctrlFullLocked() {
		return false
	}
	o.ctrl = enc(o.ctrl)
	c.flushLocked()
	return true
}

// ctrlFullLocked reports whether the client left too many acknowledgements
// unread, and if so ends the connection.
func (c *Client) ctrlFullLocked() bool {
	if len(c.out.ctrl) < maxCtrlBytes {
		return false
	}
	c.setReason(ReasonClientError)
	c.closeSocket()
	return true
}

// sendPuback queues a PUBACK and reports how many PUBACKs are queued;
// none after a server DISCONNECT.
func (c *Client) sendPuback(id uint16, code byte) int {
	o := &c.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || o.closeAfter || c.ctrlFullLocked() {
		return 0
	}
	o.ctrl = appendPuback(o.ctrl, id, code, c.v5())
	o.acks++
	c.flushLocked()
	return o.acks
}

// sendPacket queues a packet encoded by the codec.
func (c *Client) sendPacket(pk *packets.Packet) bool {
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	b := encodePacket((*buf)[:0], pk)
	ok := c.sendCtrl(func(dst []byte) []byte { return append(dst, b...) })
	*buf = b[:0]
	return ok
}

// sendDisconnect queues a server DISCONNECT and closes the socket once it
// is written.
func (c *Client) sendDisconnect(code byte) bool {
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}, ProtocolVersion: 5, ReasonCode: code}
	buf := encodePacket(nil, &pk)
	o := &c.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || o.closeAfter {
		return false
	}
	o.ctrl = append(o.ctrl, buf...)
	o.closeAfter = true
	c.flushLocked()
	return true
}

// enqueue queues a delivery. It returns false when the connection no
// longer takes deliveries for its session; a full queue drops d and
// counts it. A connection whose socket closed still queues until its
// session is detached, which keeps what it did not send.
func (c *Client) enqueue(d delivery) bool {
	o := &c.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.detached {
		return false
	}
	if o.pending.size >= c.srv.opts.MaxQueued || o.bytes+len(d.m.payload) > c.srv.opts.MaxQueuedBytes {
		o.dropped++
		c.srv.stats.dropped.Add(1)
		return true
	}
	o.pending.push(d)
	o.bytes += len(d.m.payload)
	c.flushLocked()
	return true
}

// holdWrites makes deliveries wait for flush: the reader calls it before
// handling a packet so that the acks and replies it causes share a write.
func (c *Client) holdWrites() {
	c.out.mu.Lock()
	c.out.hold = true
	c.out.mu.Unlock()
}

// flush ends holdWrites and sends what is ready.
func (c *Client) flush() {
	o := &c.out
	o.mu.Lock()
	defer o.mu.Unlock()
	o.hold = false
	c.flushLocked()
}

// acked frees the in-flight slot of a PUBACK from the client.
func (c *Client) acked(id uint16) {
	o := &c.out
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range o.inflight {
		s := &o.inflight[i]
		if s.used && s.id == id {
			*s = inflightSlot{}
			o.inUse--
			break
		}
	}
	c.flushLocked()
}

// flushLocked encodes what may be sent now and writes it to the socket
// without waiting, batch after batch, until nothing is ready or the socket
// (or the byte rate) holds bytes back. The caller holds out.mu.
func (c *Client) flushLocked() {
	o := &c.out
	if o.hold || o.closed || o.sending || o.delayed || o.closeWhenSent {
		return
	}
	now := c.srv.now()
	for c.canWriteLocked() {
		bp := bufPool.Get().(*[]byte)
		buf := append((*bp)[:0], o.ctrl...)
		o.ctrl = o.ctrl[:0]
		o.acks = 0
		if cap(o.ctrl) > 1024 {
			o.ctrl = nil
		}
		if o.closeAfter {
			o.closeWhenSent = true
		} else {
			buf = c.takeDeliveriesLocked(buf, now)
		}
		if len(buf) == 0 {
			*bp = buf
			bufPool.Put(bp)
			return
		}
		_, err := c.wr.Write(buf)
		n := len(buf)
		*bp = buf[:0]
		bufPool.Put(bp)
		if err != nil {
			c.writeFailedLocked()
			return
		}
		if wait := c.limit.takeBytes(n, now); wait > 0 {
			o.delayed = true
			time.AfterFunc(wait, c.undelay)
			return
		}
		if !c.sendLocked(now) {
			return
		}
	}
}

// sendLocked moves the bytes gathered in the wire to the socket and
// reports whether all of them went (and the connection stays open). On a
// polled socket it writes what the socket takes now and leaves the rest to
// the poller; otherwise a writer goroutine writes them.
func (c *Client) sendLocked(now int64) bool {
	o := &c.out
	if o.closed {
		return false
	}
	if c.w.fd < 0 {
		if !o.sending {
			o.sending = true
		}
		if !o.writer && !o.ending {
			o.writer = true
			c.writers.Add(1)
			go c.writeOut()
		}
		return false
	}
	done, progress, err := c.w.sendFD()
	if err != nil {
		c.writeFailedLocked()
		return false
	}
	if !done {
		if !o.sending {
			o.sending = true
			c.srv.stats.socketFull.Add(1)
			c.pollChangedLocked()
		}
		if progress || o.stallSince == 0 {
			o.stallSince = now
		}
		return false
	}
	return c.sentLocked()
}

// sentLocked notes that the wire is empty: it closes the socket after a
// server DISCONNECT and reports whether the connection goes on.
func (c *Client) sentLocked() bool {
	o := &c.out
	if o.sending {
		o.sending, o.stallSince = false, 0
		c.pollChangedLocked()
	}
	if o.closeWhenSent {
		c.closeSocket()
		return false
	}
	return true
}

// writable resumes sending once the socket takes bytes again.
func (c *Client) writable() {
	o := &c.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.sending || o.closed {
		return
	}
	if c.sendLocked(c.srv.now()) {
		c.flushLocked()
	}
}

// undelay sends what the byte rate held back.
func (c *Client) undelay() {
	o := &c.out
	o.mu.Lock()
	defer o.mu.Unlock()
	o.delayed = false
	if c.sendLocked(c.srv.now()) {
		c.flushLocked()
	}
}

// writeFailedLocked ends a connection whose socket refused a write.
func (c *Client) writeFailedLocked() {
	c.setReason(ReasonConnectionLost)
	c.out.closed = true
	c.closeSocket()
}

// writeOut is the portable path's writer goroutine: it writes what the
// wire gathers, in blocking writes bounded by WriteTimeout, until nothing
// more is ready.
func (c *Client) writeOut() {
	defer c.writers.Done()
	o := &c.out
	for {
		err := c.w.writeOut(c.srv.opts.WriteTimeout)
		o.mu.Lock()
		if err != nil {
			o.writer, o.sending = false, false
			c.writeFailedLocked()
			o.mu.Unlock()
			return
		}
		if c.w.pending() && !o.closed {
			o.mu.Unlock()
			continue
		}
		if c.sentLocked() {
			c.flushLocked()
		}
		if o.sending && !o.closed {
			o.mu.Unlock()
			continue
		}
		o.writer = false
		o.mu.Unlock()
		return
	}
}

// takeDeliveriesLocked encodes the deliveries that may be sent now into
// buf, up to writeBatch bytes, assigning packet IDs to QoS 1 ones.
func (c *Client) takeDeliveriesLocked(buf []byte, now int64) []byte {
	o := &c.out
	if o.detached {
		return buf
	}
	v5 := c.v5()
	for o.pending.size > 0 && len(buf) < writeBatch {
		d := o.pending.front()
		if d.qos > 0 && o.inUse >= c.window {
			break
		}
		dv := o.pending.pop()
		o.bytes -= len(dv.m.payload)
		h := publishHeader{qos: dv.qos, retain: dv.retain, v5: v5, props: dv.m.props}
		if dv.m.expires != 0 {
			left := dv.m.expires - now
			if left <= 0 {
				c.srv.stats.expired.Add(1)
				continue
			}
			h.hasExpir, h.expiry = true, uint32(left/1e9)
		}
		if c.maxPacket > 0 && publishSize(&h, dv.m.topic, dv.m.payload) > int(c.maxPacket) {
			c.srv.stats.dropped.Add(1)
			continue
		}
		if dv.qos > 0 {
			h.id = c.takeSlotLocked(dv)
		}
		buf = appendPublish(buf, &h, dv.m.topic, dv.m.payload)
	}
	return buf
}

// takeSlotLocked records d in flight and returns its packet ID.
func (c *Client) takeSlotLocked(d delivery) uint16 {
	o := &c.out
	if o.inflight == nil {
		o.inflight = make([]inflightSlot, c.window)
	}
	for {
		o.nextID++
		if o.nextID == 0 {
			o.nextID = 1
		}
		free := -1
		inUse := false
		for i := range o.inflight {
			s := &o.inflight[i]
			if s.used && s.id == o.nextID {
				inUse = true
				break
			}
			if !s.used && free < 0 {
				free = i
			}
		}
		if inUse {
			continue
		}
		o.seq++
		o.inflight[free] = inflightSlot{d: d, id: o.nextID, seq: o.seq, used: true}
		o.inUse++
		return o.nextID
	}
}

// detachLocked stops deliveries to the connection and returns the QoS 1
// deliveries it had not completed, those in flight first, in order.
func (c *Client) detachLocked() []delivery {
	o := &c.out
	o.detached = true
	var out []delivery
	if o.inUse > 0 {
		slots := make([]inflightSlot, 0, o.inUse)
		for _, s := range o.inflight {
			if s.used {
				slots = append(slots, s)
			}
		}
		sortSlots(slots)
		for _, s := range slots {
			out = append(out, s.d)
		}
	}
	o.inflight, o.inUse = nil, 0
	for _, d := range o.pending.drain() {
		if d.qos > 0 {
			out = append(out, d)
		}
	}
	o.bytes = 0
	return out
}

func sortSlots(s []inflightSlot) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].seq < s[j-1].seq; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
