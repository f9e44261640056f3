package load

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/shadowload/shadowload/metrics"
)

// worker drives the slots of the things it owns and handles everything
// their connections hear. The fleet is split across a fixed pool of workers;
// no goroutine or timer exists per thing.
type worker struct {
	r       *runner
	cfg     *Config
	ids     *ids
	things  []*thing
	events  chan event
	done    chan struct{} // closed when the worker stops taking events
	rec     *metrics.Recorder
	fields  FieldsFunc
	foreign atomic.Int64 // messages that were not replies to us
	stale   atomic.Int64 // replies that came after their request had ended
	// nextScan is when expire next runs, on the worker's clock.
	nextScan int64
	// stopping says the run is ending: no new request leaves.
	stopping bool
	scratch  []byte // the generated fields of the request being built
}

// genFields returns the generated fields object for one update of t, in a
// buffer reused by the next call.
func (w *worker) genFields(t *thing) []byte {
	w.scratch = w.fields(w.scratch[:0], t.index)
	return w.scratch
}

// clock returns nanoseconds since the run's start on the run's clock.
func (w *worker) clock() int64 { return int64(w.cfg.Clock.Now().Sub(w.r.start)) }

// idle handles connection events until the schedule starts.
func (w *worker) idle(ctx context.Context, started <-chan struct{}) {
	for {
		select {
		case ev := <-w.events:
			w.handle(ev)
		case <-started:
			return
		case <-ctx.Done():
			return
		}
	}
}

// run sends the worker's slots on schedule and handles events between them;
// after the last slot it waits for outstanding requests to end and reads
// its shadows back. When the run is stopped it ends what it has in flight
// (stop) and returns.
func (w *worker) run(ctx context.Context) {
	timer := w.cfg.Clock.NewTimer(time.Hour)
	defer timer.Stop()
	if ctx.Err() != nil {
		w.stop()
		return
	}
	sched := w.r.sched
	// Slot k goes to the thing of fleet index k mod the fleet's size: a
	// shard's things keep the slots the whole run gives them.
	n := int64(w.cfg.FleetSize)
	for cycle := int64(0); ; cycle++ {
		base := cycle * n
		if base >= sched.Slots() {
			break
		}
		for _, t := range w.things {
			i := base + int64(t.index)
			if i >= sched.Slots() {
				break
			}
			due := int64(w.r.schedStart() + sched.At(i))
			if !w.waitUntil(ctx, timer, due) {
				w.stop()
				return
			}
			w.send(i, cycle, t, due)
		}
	}
	if !w.drain(ctx, timer) || w.cfg.Verify && !w.verify(ctx, timer) {
		w.stop()
	}
}

// scanEvery is how often a worker looks for requests past their timeout.
const scanEvery = int64(50 * time.Millisecond)

// waitUntil handles events until the clock reaches due, and times out
// requests every scanEvery meanwhile. It returns false when the run is
// cancelled. Events already waiting are handled first even when due has
// passed, so a worker behind its schedule still takes in the replies that
// free its in-flight slots.
func (w *worker) waitUntil(ctx context.Context, timer Timer, due int64) bool {
	for pending := len(w.events); pending > 0; pending-- {
		w.handle(<-w.events)
	}
	for {
		if ctx.Err() != nil {
			return false
		}
		now := w.clock()
		if now >= w.nextScan {
			w.expire(now)
			w.nextScan = now + scanEvery
		}
		wait := due - now
		if wait <= 0 {
			return true
		}
		timer.Reset(time.Duration(min(wait, w.nextScan-now)))
		select {
		case ev := <-w.events:
			w.handle(ev)
		case <-timer.C():
		case <-ctx.Done():
			return false
		}
	}
}

// drain waits for the outstanding requests to be answered or time out, and
// for the deltas that accepted desired writes promised, up to the timeout.
// It returns false when the run is cancelled.
func (w *worker) drain(ctx context.Context, timer Timer) bool {
	deadline := w.clock() + int64(w.cfg.Timeout)
	for {
		now := w.clock()
		w.expire(now)
		requests, deltas := w.outstanding()
		if requests == 0 && (deltas == 0 || now > deadline) {
			return true
		}
		if !w.await(ctx, timer, 50*time.Millisecond) {
			return false
		}
	}
}

// await handles one event, or waits d for one; it returns false when the
// run is cancelled.
func (w *worker) await(ctx context.Context, timer Timer, d time.Duration) bool {
	timer.Reset(d)
	select {
	case ev := <-w.events:
		w.handle(ev)
	case <-timer.C():
	case <-ctx.Done():
		return false
	}
	return true
}

// outstanding counts the requests still unanswered and the deltas still
// awaited.
func (w *worker) outstanding() (requests int, deltas int64) {
	for _, t := range w.things {
		requests += t.inflight.used + t.held.len()
		for i := range t.shadows {
			deltas += max(t.shadows[i].awaitDelta, 0)
		}
	}
	return requests, deltas
}

// stop ends the worker's part of a stopped run: no new request leaves,
// held-back slots are skipped, the replies to requests in flight are taken
// in for up to StopGrace, and what is still unanswered then ends as timed
// out, so that every request sent has its fate in the report.
func (w *worker) stop() {
	w.stopping = true
	for _, t := range w.things {
		w.skipHeld(t)
	}
	timer := w.cfg.Clock.NewTimer(time.Hour)
	defer timer.Stop()
	deadline := w.clock() + int64(w.cfg.StopGrace)
	for {
		now := w.clock()
		w.expire(now)
		if requests, _ := w.outstanding(); requests == 0 || now >= deadline {
			break
		}
		w.await(context.Background(), timer, time.Duration(min(scanEvery, deadline-now)))
	}
	w.endAll()
}

// endAll ends every request still in flight as timed out (a stopped run's
// unanswered requests), skips held-back slots, and gives up the read-backs
// still pending. The run calls it for every worker once they have all
// returned, so that a worker that panicked loses nothing from the books.
func (w *worker) endAll() {
	for _, t := range w.things {
		for s := range t.inflight.slots {
			if req := &t.inflight.slots[s]; req.busy {
				switch {
				case req.verify:
					w.rec.Add(w.ids.verifyUnanswered, 1)
				case !req.left:
					// Taken for a request that never left: a worker
					// panicked while building it.
					w.skip(req.phase)
				default:
					w.timeout(req)
					w.rec.Add(w.ids.unanswered, 1)
				}
				t.inflight.release(s)
			}
		}
		w.skipHeld(t)
		for i := range t.shadows {
			if t.shadows[i].verifyPending {
				t.shadows[i].verifyPending = false
				w.rec.Add(w.ids.verifyUnanswered, 1)
			}
		}
	}
}

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

// timeout counts a request that got no reply in time.
func (w *worker) timeout(req *request) {
	w.rec.Add(w.ids.timeout[req.op], 1)
	w.rec.Add(w.phaseIDs(req.phase).timeout[req.op], 1)
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

	b := make([]byte, 0, 256)
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
	}
	w.rec.Add(w.ids.bytesOut, int64(len(b)+len(topic)))
	ss.events[evtRequest+int(p.op)]++
	return true
}

// handle applies one event to the thing it concerns.
func (w *worker) handle(ev event) {
	t := w.things[ev.thing]
	switch ev.kind {
	case evUp:
		if ev.connGen == t.lostEarly {
			// The connection dropped before the worker heard it was up.
			_ = ev.conn.Close()
			w.rec.Add(w.ids.reconnects, 1)
			w.r.redial(t, w)
			return
		}
		t.conn, t.connGen, t.up = ev.conn, ev.connGen, true
		w.r.up.Add(1)
	case evLost:
		if ev.connGen != t.connGen || !t.up {
			if ev.connGen > t.connGen {
				t.lostEarly = ev.connGen
			}
			return
		}
		t.up, t.conn = false, nil
		w.r.up.Add(-1)
		w.dropOutstanding(t)
		w.rec.Add(w.ids.reconnects, 1)
		w.r.redial(t, w)
	case evReply:
		w.rec.Add(w.ids.bytesIn, int64(ev.size))
		w.reply(t, ev)
	case evDelta:
		w.rec.Add(w.ids.bytesIn, int64(ev.size))
		w.delta(t, ev)
	}
}

// dropOutstanding ends what a lost connection had outstanding: its requests
// can get no reply on a new clean session, so they end as timed out now
// rather than holding the new connection's in-flight slots; held-back slots
// are skipped.
func (w *worker) dropOutstanding(t *thing) {
	for s := range t.inflight.slots {
		if req := &t.inflight.slots[s]; req.busy {
			if req.verify {
				w.rec.Add(w.ids.verifyUnanswered, 1)
			} else {
				w.timeout(req)
			}
			t.inflight.release(s)
		}
	}
	w.skipHeld(t)
}

// reply ends the request a reply names and records its latency. A reply
// that comes after the request's timeout, or after it ended, is counted
// stale: the request is (or was) a time-out, not an answer.
func (w *worker) reply(t *thing, ev event) {
	ss := &t.shadows[ev.shadow]
	w.countReply(ss, ev)
	req := t.inflight.lookup(ev.slot, ev.gen)
	if req == nil {
		w.stale.Add(1)
		return
	}
	if req.verify {
		if ev.at-req.sent > int64(w.cfg.Timeout) {
			w.rec.Add(w.ids.verifyUnanswered, 1)
			w.stale.Add(1)
		} else {
			w.verified(ss, ev)
		}
		w.release(t, ev.slot)
		return
	}
	if ev.at-req.sent > int64(w.cfg.Timeout) {
		w.timeout(req)
		w.stale.Add(1)
		w.release(t, ev.slot)
		return
	}
	op := req.op
	ph := w.phaseIDs(req.phase)
	corrected := ev.at - req.intended
	uncorrected := ev.at - req.sent
	if ev.accepted {
		w.rec.Record(w.ids.accepted[op], corrected)
		w.rec.Record(ph.accepted[op], corrected)
		w.rec.Record(w.ids.acceptedUncorr[op], uncorrected)
		switch op {
		case OpUpdate:
			w.checkVersion(ss, req.seq, ev.version)
			ss.updateVersion = max(ss.updateVersion, ev.version)
			if req.desired {
				w.rec.Add(w.ids.deltaExpected, 1)
				ss.awaitDelta++
			}
		case OpDelete:
			ss.deleteVersion = max(ss.deleteVersion, ev.version)
		}
		if ev.version > ss.lastVersion {
			ss.lastVersion = ev.version
		}
	} else {
		w.rec.Record(w.ids.rejected[op], corrected)
		w.rec.Record(ph.rejected[op], corrected)
		w.rec.Record(w.ids.rejectedUncorr[op], uncorrected)
		w.rec.Record(w.ids.rejectedCode[op][rejectIndex(int(ev.code))], corrected)
	}
	w.release(t, ev.slot)
}

// countReply adds a reply, and the documents message an accepted update
// also caused, to the shadow's traffic for the observers' expected counts,
// whether or not the reply still ends a request.
func (w *worker) countReply(ss *shadowState, ev event) {
	if !ev.accepted {
		ss.events[evtRejected+int(ev.op)]++
		return
	}
	ss.events[evtAccepted+int(ev.op)]++
	if ev.op == OpUpdate {
		ss.events[evtDocuments]++
	}
}

// checkVersion holds the shadow service to its promise: updates applied in
// the order one connection sent them get rising versions, each seen once.
func (w *worker) checkVersion(ss *shadowState, seq, version int64) {
	if ss.lastSeq == 0 && ss.lastSeqVer == 0 {
		ss.lastSeq, ss.lastSeqVer = seq, version
		return
	}
	switch {
	case seq > ss.lastSeq:
		if version <= ss.lastSeqVer {
			w.rec.Add(w.ids.violations, 1)
		}
		ss.lastSeq, ss.lastSeqVer = seq, version
	case seq < ss.lastSeq:
		if version >= ss.lastSeqVer {
			w.rec.Add(w.ids.violations, 1)
		}
	default:
		w.rec.Add(w.ids.violations, 1)
	}
}

// delta records a delta at the device and, when the phase says so, answers
// it with a reported update, as a device applying the change would. A delta
// that repeats a desired write already seen (a reported-only update left
// desired and reported apart) is counted but not timed: its stamp is the
// older write's.
func (w *worker) delta(t *thing, ev event) {
	ss := &t.shadows[ev.shadow]
	ss.events[evtDelta]++
	ss.awaitDelta--
	w.rec.Add(w.ids.deltaReceived, 1)
	if ev.stamp > ss.lastDeltaStamp {
		w.rec.Record(w.ids.delta, ev.at-ev.stamp)
		if p := w.r.sched.PhaseAt(time.Duration(ev.stamp) - w.r.schedStart()); p >= 0 {
			w.rec.Record(w.phaseIDs(int32(p)).delta, ev.at-ev.stamp)
		}
		ss.lastDeltaStamp = ev.stamp
	}
	phase := w.r.sched.PhaseAt(time.Duration(ev.at) - w.r.schedStart())
	if phase < 0 || !w.cfg.Phases[phase].RespondToDelta || len(ev.state) == 0 || w.stopping {
		return
	}
	slot := -1
	if t.up {
		slot = t.inflight.acquire()
	}
	if slot < 0 {
		w.rec.Add(w.ids.deltaSkipped, 1)
		return
	}
	p := pending{intended: ev.at, op: OpUpdate, shadow: ev.shadow, write: WriteReported, phase: int32(phase)}
	if !w.publish(t, slot, p, ev.state, false) {
		w.rec.Add(w.ids.deltaSkipped, 1)
		return
	}
	w.rec.Add(w.ids.deltaResponses, 1)
}

// expire times out requests unanswered for longer than the timeout.
func (w *worker) expire(now int64) {
	limit := int64(w.cfg.Timeout)
	for _, t := range w.things {
		if t.held.len() > 0 {
			w.pump(t)
		}
		if t.inflight.used == 0 {
			continue
		}
		for s := range t.inflight.slots {
			req := &t.inflight.slots[s]
			if req.busy && now-req.sent > limit {
				if req.verify {
					w.rec.Add(w.ids.verifyUnanswered, 1)
				} else {
					w.timeout(req)
				}
				w.release(t, s)
			}
		}
	}
}

// settle takes in what reached the worker after it stopped: replies that
// came after their request ended are stale but still part of the traffic
// observers saw; late connections are closed. Only the run's goroutine calls
// it, after the workers have returned.
func (w *worker) settle() {
	for {
		select {
		case ev := <-w.events:
			switch ev.kind {
			case evUp:
				_ = ev.conn.Close()
			case evReply:
				w.countReply(&w.things[ev.thing].shadows[ev.shadow], ev)
				w.stale.Add(1)
			case evDelta:
				w.things[ev.thing].shadows[ev.shadow].events[evtDelta]++
				w.rec.Add(w.ids.deltaReceived, 1)
			}
		default:
			return
		}
	}
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
