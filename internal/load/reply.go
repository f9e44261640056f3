package load

import (
	"time"
)

// handle applies one event to the thing it concerns.
func (w *worker) handle(ev event) {
	t := w.things[ev.thing]
	switch ev.kind {
	case evUp:
		if ev.connGen == t.lostEarly {
			// The connection dropped before the worker heard it was up.
			w.closing = append(w.closing, ev.conn)
			w.rec.Add(w.ids.reconnects, 1)
			w.r.redial(t, w)
			return
		}
		t.conn, t.connGen, t.up, t.away = ev.conn, ev.connGen, true, false
		w.r.up.Add(1)
		if ev.since >= 0 {
			w.rec.Record(w.ids.reconnect, ev.at-ev.since)
			switch {
			case !w.cfg.Persistent:
			case ev.present:
				w.rec.Add(w.ids.sessionResumed, 1)
			default:
				w.rec.Add(w.ids.sessionLost, 1)
			}
		}
	case evLost:
		if ev.connGen != t.connGen || !t.up {
			if ev.connGen > t.connGen {
				t.lostEarly = ev.connGen
			}
			return
		}
		t.up, t.conn, t.leaving = false, nil, nil
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
	case evApp:
		w.appWrite(t, ev)
	case evResumed:
		t.resumedAt = ev.at
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
				w.timeout(t, req)
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
		w.timeout(t, req)
		w.stale.Add(1)
		w.release(t, ev.slot)
		return
	}
	op := req.op
	ph := w.phaseIDs(req.phase)
	corrected := ev.at - req.intended
	uncorrected := ev.at - req.sent
	pr := &w.ids.protocol[t.protocol]
	if ev.accepted {
		w.rec.Record(w.ids.accepted[op], corrected)
		w.rec.Record(ph.accepted[op], corrected)
		w.rec.Record(w.ids.acceptedUncorr[op], uncorrected)
		w.rec.Add(pr.accepted, 1)
		if op == OpUpdate {
			w.rec.Record(pr.updateAccepted, corrected)
		}
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
		w.rec.Add(pr.rejected, 1)
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
		if t.resumedAt > 0 && ev.stamp < t.resumedAt {
			// The desired write came while the thing was away: the
			// delta waited in its session.
			w.rec.Record(w.ids.deltaReplayed, ev.at-t.resumedAt)
		}
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
					w.timeout(t, req)
				}
				w.release(t, s)
			}
		}
	}
}
