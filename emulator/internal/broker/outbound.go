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
// deliveries waiting, QoS 1 deliveries in flight. One goroutine at a time
// writes (writing); it takes what is ready under mu, encodes it into one
// buffer and writes that with one Write, so several small packets share a
// TLS record.
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
	writing  bool
	hold     bool // the reader is handling a packet and flushes after it
	// detached: the session moved on (takeover or end); deliveries go back
	// to the session. closed: the socket is gone; nothing more is written.
	detached, closed bool
	// ending: teardown is waiting for the writer goroutines, so none may
	// start; what is queued meanwhile goes back to the session at detach.
	ending bool
	// closeAfter closes the socket once what is queued is written (a
	// server DISCONNECT is among it).
	closeAfter bool
	dropped    uint64
	// writeDeadline is when the write deadline was last moved; the
	// writing goroutine owns it.
	writeDeadline int64
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

// startWriterLocked starts a writer goroutine if one is needed and none
// runs; the caller holds out.mu.
func (c *Client) startWriterLocked() {
	o := &c.out
	if o.writing || o.hold || o.closed || o.ending || !c.canWriteLocked() {
		return
	}
	o.writing = true
	c.writers.Add(1)
	go func() {
		defer c.writers.Done()
		c.writeLoop(false)
	}()
}

// sendCtrl queues an encoded control packet built by enc.
func (c *Client) sendCtrl(enc func([]byte) []byte) bool {
	o := &c.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || c.ctrlFullLocked() {
		return false
	}
	o.ctrl = enc(o.ctrl)
	c.startWriterLocked()
	return true
}

// ctrlFullLocked reports whether the client left too many acknowledgements
// unread, and if so ends the connection.
func (c *Client) ctrlFullLocked() bool {
	if len(c.out.ctrl) < maxCtrlBytes {
		return false
	}
	c.setReason(ReasonClientError)
	go c.closeSocket()
	return true
}

// sendPuback queues a PUBACK and reports how many PUBACKs are queued.
func (c *Client) sendPuback(id uint16, code byte) int {
	o := &c.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || c.ctrlFullLocked() {
		return 0
	}
	o.ctrl = appendPuback(o.ctrl, id, code, c.v5())
	o.acks++
	c.startWriterLocked()
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
	c.startWriterLocked()
	return true
}

// enqueue queues a delivery. It returns false when the connection no
// longer takes deliveries for its session; a full queue drops d and
// counts it.
func (c *Client) enqueue(d delivery) bool {
	o := &c.out
	o.mu.Lock()
	if o.detached || o.closed {
		o.mu.Unlock()
		return false
	}
	if o.pending.size >= c.srv.opts.MaxQueued || o.bytes+len(d.m.payload) > c.srv.opts.MaxQueuedBytes {
		o.dropped++
		o.mu.Unlock()
		c.srv.stats.dropped.Add(1)
		return true
	}
	o.pending.push(d)
	o.bytes += len(d.m.payload)
	c.startWriterLocked()
	o.mu.Unlock()
	return true
}

// holdWrites makes deliveries wait for flush: the reader calls it before
// handling a packet so that the acks and replies it causes share a write.
func (c *Client) holdWrites() {
	c.out.mu.Lock()
	c.out.hold = true
	c.out.mu.Unlock()
}

// flush ends holdWrites and writes what is ready, on the reader's
// goroutine when no writer runs (one batch; a writer goroutine takes the
// rest).
func (c *Client) flush() {
	o := &c.out
	o.mu.Lock()
	o.hold = false
	if o.writing || o.closed || !c.canWriteLocked() {
		o.mu.Unlock()
		return
	}
	o.writing = true
	o.mu.Unlock()
	c.writeLoop(true)
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
	c.startWriterLocked()
}

// writeLoop writes until nothing is ready; the caller set out.writing.
// once stops after one write and hands the rest to a writer goroutine.
func (c *Client) writeLoop(once bool) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	o := &c.out
	now := c.srv.now()
	for {
		o.mu.Lock()
		if o.closed {
			o.writing = false
			o.mu.Unlock()
			return
		}
		buf := append((*bp)[:0], o.ctrl...)
		o.ctrl = o.ctrl[:0]
		o.acks = 0
		if cap(o.ctrl) > 1024 {
			o.ctrl = nil
		}
		buf = c.takeDeliveriesLocked(buf, now)
		closeAfter := o.closeAfter
		if len(buf) == 0 {
			o.writing = false
			o.mu.Unlock()
			*bp = buf
			return
		}
		o.mu.Unlock()
		*bp = buf[:0]

		if wait := c.limit.takeBytes(len(buf), now); wait > 0 {
			c.srv.sleep(c, wait)
		}
		c.pushWriteDeadline(now)
		if _, err := c.nc.Write(buf); err != nil {
			c.setReason(ReasonConnectionLost)
			c.closeSocket()
			o.mu.Lock()
			o.closed, o.writing = true, false
			o.mu.Unlock()
			return
		}
		if closeAfter {
			c.closeSocket()
			o.mu.Lock()
			o.closed, o.writing = true, false
			o.mu.Unlock()
			return
		}
		now = c.srv.now()
		if once {
			o.mu.Lock()
			o.writing = false
			c.startWriterLocked()
			o.mu.Unlock()
			return
		}
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

// pushWriteDeadline gives the next write WriteTimeout; the socket's
// deadline moves at most once a second, each time a second further out.
func (c *Client) pushWriteDeadline(now int64) {
	if now-c.out.writeDeadline < int64(time.Second) {
		return
	}
	c.out.writeDeadline = now
	_ = c.nc.SetWriteDeadline(time.Unix(0, now).Add(c.srv.opts.WriteTimeout + time.Second))
}
