package load

import (
	"context"
	"time"
)

// verify reads back every shadow the worker's things wrote, once its
// schedule has ended and its requests are answered: read-your-writes across
// the fleet. Each thing is the only writer of its shadows, so the versions
// its accepted updates got are consecutive, and a read-back at a lower
// version (or a 404 where an update was the last accepted write) means the
// target lost the writes in between: they are counted in verify.lost. A
// read-back the target did not answer in time, or could not receive because
// the thing is disconnected, counts in verify.unanswered; one refused with
// 401 or 403 (the identity may not read its shadow) in verify.denied. It
// returns false when the run is cancelled.
func (w *worker) verify(ctx context.Context) bool {
	var deadline int64
	w.locked(func() {
		for _, t := range w.things {
			for i := range t.shadows {
				if ss := &t.shadows[i]; ss.updateVersion > 0 || ss.deleteVersion > 0 {
					ss.verifyPending = true
				}
			}
		}
		deadline = w.clock() + int64(w.cfg.Timeout)
	})
	return w.await(ctx, 50*time.Millisecond, func(now int64) bool {
		w.expire(now)
		waiting := 0
		for _, t := range w.things {
			w.pumpVerify(t)
			waiting += t.inflight.used
			for i := range t.shadows {
				if t.shadows[i].verifyPending {
					waiting++
				}
			}
		}
		if waiting == 0 {
			return true
		}
		if now > deadline {
			for _, t := range w.things {
				for i := range t.shadows {
					if t.shadows[i].verifyPending {
						t.shadows[i].verifyPending = false
						w.rec.Add(w.ids.verifyUnanswered, 1)
					}
				}
			}
			// What is in flight still gets its timeout through expire.
			deadline = now + int64(w.cfg.Timeout)
		}
		return false
	})
}

// pumpVerify sends the thing's pending read-backs while it has room in
// flight. A thing that is not connected cannot read: its read-backs count
// as unanswered at once rather than wait for a redial.
func (w *worker) pumpVerify(t *thing) {
	for i := range t.shadows {
		ss := &t.shadows[i]
		if !ss.verifyPending || w.stopping {
			continue
		}
		if !t.up {
			ss.verifyPending = false
			w.rec.Add(w.ids.verifyUnanswered, 1)
			continue
		}
		slot := t.inflight.acquire()
		if slot < 0 {
			return
		}
		ss.verifyPending = false
		if !w.publish(t, slot, pending{intended: w.clock(), op: OpGet, shadow: uint8(i)}, nil, true) {
			w.rec.Add(w.ids.verifyUnanswered, 1)
		}
	}
}

// verified judges the answer to a read-back.
func (w *worker) verified(ss *shadowState, ev event) {
	switch {
	case ev.accepted:
		w.rec.Add(w.ids.verifyLost, ss.lostWrites(ev.version, true))
	case ev.code == 404:
		w.rec.Add(w.ids.verifyLost, ss.lostWrites(0, false))
	case ev.code == 401 || ev.code == 403:
		w.rec.Add(w.ids.verifyDenied, 1)
		return
	default:
		w.rec.Add(w.ids.verifyUnanswered, 1)
		return
	}
	w.rec.Add(w.ids.verifyRead, 1)
}

// lostWrites counts the accepted writes a read-back of the shadow no longer
// shows: exists says the get was accepted, at version got. When the last
// accepted write was a delete (a delete keeps the version, so its version
// is at least the last update's), the shadow must be gone; otherwise it
// must hold at least the version of the last accepted update, and each
// version missing is one accepted update lost.
func (ss *shadowState) lostWrites(got int64, exists bool) int64 {
	if ss.deleteVersion > 0 && ss.deleteVersion >= ss.updateVersion {
		if exists && got <= ss.deleteVersion {
			return 1
		}
		return 0
	}
	have := ss.deleteVersion
	if exists {
		have = max(have, got)
	}
	return max(ss.updateVersion-have, 0)
}
