package load

import (
	"strconv"
	"time"
)

// skipHeld skips the slots held back behind the thing's in-flight cap.
func (w *worker) skipHeld(t *thing) {
	for t.held.len() > 0 {
		p, _ := t.held.pop()
		w.skip(p.phase)
	}
}

// phaseIDs returns the metrics scoped to phase.
func (w *worker) phaseIDs(phase int32) *phaseIDs { return &w.ids.phase[phase] }

// skip counts a slot that was never sent.
func (w *worker) skip(phase int32) {
	w.rec.Add(w.ids.skipped, 1)
	w.rec.Add(w.phaseIDs(phase).skipped, 1)
}

// timeout counts a request of t that got no reply in time.
func (w *worker) timeout(t *thing, req *request) {
	w.rec.Add(w.ids.timeout[req.op], 1)
	w.rec.Add(w.phaseIDs(req.phase).timeout[req.op], 1)
	w.rec.Add(w.ids.protocol[t.protocol].timeout, 1)
}

// send handles slot i: it picks the operation and shadow and publishes the
// request. When the thing has its in-flight cap of requests outstanding the
// slot is held back and sent as soon as a reply makes room, its latency still
// counted from its intended time; when the thing is down, or the backlog is
// full, the slot is skipped.
func (w *worker) send(i, cycle int64, t *thing, due int64) {
	now := w.clock()
	lag := now - due
	phase := int32(w.r.sched.PhaseOf(i))
	ph := w.phaseIDs(phase)
	w.rec.Add(w.ids.slots, 1)
	w.rec.Add(ph.slots, 1)
	w.rec.Record(w.ids.lag, max(lag, int64(time.Microsecond)))
	if lag > int64(w.cfg.LateBound) {
		w.rec.Add(w.ids.late, 1)
		w.rec.Add(ph.late, 1)
	}
	ps := &w.cfg.Phases[phase]
	p := pending{intended: due, op: pickOp(&ps.Mix, i), shadow: uint8(cycle % int64(len(t.shadows))), write: ps.Write, phase: phase}
	w.rec.Add(w.ids.scheduled[p.op], 1)
	w.rec.Add(ph.scheduled[p.op], 1)
	if t.away || t.leaving != nil {
		// Churn or a storm sent the thing away: a device that is offline
		// sends nothing, by the scenario's design.
		w.rec.Add(w.ids.offline, 1)
		w.rec.Add(ph.offline, 1)
		return
	}
	if !t.up {
		w.skip(phase)
		return
	}
	if t.held.len() > 0 {
		w.hold(t, p)
		return
	}
	slot := t.inflight.acquire()
	if slot < 0 {
		w.hold(t, p)
		return
	}
	if !w.publish(t, slot, p, nil, false) {
		w.skip(phase)
	}
}

// hold queues a slot behind the in-flight cap, or skips it when the backlog
// is full.
func (w *worker) hold(t *thing, p pending) {
	if !t.held.push(p) {
		w.skip(p.phase)
		return
	}
	w.rec.Add(w.ids.deferred, 1)
	w.rec.Add(w.phaseIDs(p.phase).deferred, 1)
}

// release frees an in-flight slot and sends held-back slots in the room.
func (w *worker) release(t *thing, slot int) {
	t.inflight.release(slot)
	w.pump(t)
	w.leaveIfIdle(t)
}

// pump sends held-back slots, oldest first, while the thing has room in
// flight; held slots older than the timeout are skipped, as no reply could
// come in time.
func (w *worker) pump(t *thing) {
	now := w.clock()
	for t.up && !w.stopping && t.held.len() > 0 && t.inflight.used < len(t.inflight.slots) {
		p, _ := t.held.pop()
		if now-p.intended > int64(w.cfg.Timeout) {
			w.skip(p.phase)
			continue
		}
		s := t.inflight.acquire()
		if !w.publish(t, s, p, nil, false) {
			w.skip(p.phase)
		}
	}
}

// publish builds and sends one request in the given in-flight slot.
// deltaState, when set, makes it the device's reported answer to a delta;
// verify makes it a get that reads the shadow back after the schedule,
// counted apart from the schedule's requests. It reports whether the
// request left.
func (w *worker) publish(t *thing, slot int, p pending, deltaState []byte, verify bool) bool {
	req := &t.inflight.slots[slot]
	ss := &t.shadows[p.shadow]
	req.op, req.shadow, req.intended, req.seq, req.phase, req.verify, req.left = p.op, p.shadow, p.intended, t.seq, p.phase, verify, false
	req.desired = p.op == OpUpdate && deltaState == nil && p.write == WriteDesired
	t.seq++

	b := w.out[:0]
	switch p.op {
	case OpUpdate:
		stamp := w.r.epoch + p.intended
		b = append(b, `{"state":{`...)
		switch {
		case deltaState != nil:
			b = append(b, `"reported":`...)
			b = appendStamped(b, deltaState, AnswerStampField, stamp)
		case p.write == WriteBoth:
			b = append(b, `"desired":`...)
			start := len(b)
			b = appendStamped(b, w.genFields(t), StampField, stamp)
			fields := b[start:]
			b = append(b, `,"reported":`...)
			b = append(b, fields...)
		case p.write == WriteDesired:
			b = append(b, `"desired":`...)
			b = appendStamped(b, w.genFields(t), StampField, stamp)
		default:
			b = append(b, `"reported":`...)
			b = appendStamped(b, w.genFields(t), StampField, stamp)
		}
		b = append(b, `},"clientToken":"`...)
		b = appendToken(b, slot, req.gen)
		b = append(b, '"')
		if w.cfg.Optimistic && ss.lastVersion > 0 {
			b = append(b, `,"version":`...)
			b = strconv.AppendInt(b, ss.lastVersion, 10)
		}
		b = append(b, '}')
	default:
		b = append(b, `{"clientToken":"`...)
		b = appendToken(b, slot, req.gen)
		b = append(b, `"}`...)
	}

	w.out = b
	req.sent = w.clock()
	topic := ss.topics[p.op]
	if err := t.conn.Publish(topic, w.cfg.QoS, b); err != nil {
		// The request never reached the wire: the connection is going down
		// and will be reported lost.
		t.inflight.release(slot)
		return false
	}
	req.left = true
	if !verify {
		w.rec.Add(w.ids.sent[p.op], 1)
		w.rec.Add(w.phaseIDs(p.phase).sent[p.op], 1)
		w.rec.Add(w.ids.protocol[t.protocol].sent, 1)
	}
	w.rec.Add(w.ids.bytesOut, int64(len(b)+len(topic)))
	ss.events[evtRequest+int(p.op)]++
	return true
}

// pickOp chooses slot i's operation by the phase's weights, spreading each
// operation evenly over the slots with a hash of the slot number.
func pickOp(m *Mix, i int64) Op {
	var total float64
	for _, w := range m {
		total += w
	}
	x := float64(splitmix(uint64(i))>>11) / (1 << 53) * total
	for op, w := range m {
		if x < w {
			return Op(op)
		}
		x -= w
	}
	return OpUpdate
}

// splitmix is the SplitMix64 finaliser: a cheap, well-mixed hash of i.
func splitmix(i uint64) uint64 {
	z := i + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
