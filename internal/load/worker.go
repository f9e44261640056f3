package load

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadowload/shadowload/metrics"
)

// worker drives the slots of the things it owns. The fleet is split across a
// fixed pool of workers; no goroutine or timer exists per thing.
//
// A worker's goroutine sleeps until its next slot is due and sends it; what
// the things' connections hear is applied by the connections' own
// goroutines, under the worker's lock, as it arrives. So a reply costs no
// hand-over to another goroutine, and the worker wakes once per slot.
type worker struct {
	r       *runner
	cfg     *Config
	ids     *ids
	things  []*thing
	rec     *metrics.Recorder
	fields  FieldsFunc
	foreign atomic.Int64 // messages that were not replies to us
	stale   atomic.Int64 // replies that came after their request had ended
	sleeper sleeper

	// mu guards the state of the worker's things and the fields below.
	mu sync.Mutex
	// nextScan is when expire next runs, on the worker's clock.
	nextScan int64
	// stopping says the run is ending: no new request leaves.
	stopping bool
	// waiting says the worker waits for its last requests: every event
	// applied kicks it, so it sees them end at once.
	waiting bool
	// finished says the worker has returned: what still arrives is only
	// counted (late).
	finished bool
	// closing and dropping hold connections to close (with DISCONNECT) and
	// to drop (without) once mu is released: ending one may wait for its
	// reading goroutine, which may wait for mu.
	closing, dropping []Conn
	scratch           []byte // the generated fields of the request being built
	out               []byte // the request being built
}

// genFields returns the generated fields object for one update of t, in a
// buffer reused by the next call.
func (w *worker) genFields(t *thing) []byte {
	w.scratch = w.fields(w.scratch[:0], t.index)
	return w.scratch
}

// clock returns nanoseconds since the run's start on the run's clock.
func (w *worker) clock() int64 { return int64(w.cfg.Clock.Now().Sub(w.r.start)) }

// deliver applies an event a connection's goroutine heard to the thing it
// concerns, under the worker's lock.
func (w *worker) deliver(ev event) {
	w.locked(func() {
		if w.finished {
			w.late(ev)
			return
		}
		w.handle(ev)
		if w.waiting {
			w.sleeper.kick()
		}
	})
}

// locked runs f under the worker's lock, then ends the connections f left
// to close or drop.
func (w *worker) locked(f func()) {
	var closing, dropping []Conn
	func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		f()
		closing, dropping = w.closing, w.dropping
		w.closing, w.dropping = nil, nil
	}()
	for _, c := range closing {
		_ = c.Close()
	}
	for _, c := range dropping {
		_ = c.Drop()
	}
}

// kick wakes the worker from its sleep.
func (w *worker) kick() {
	w.mu.Lock()
	if !w.finished {
		w.sleeper.kick()
	}
	w.mu.Unlock()
}

// finish marks the worker returned and releases its sleeper; what arrives
// later is counted by late.
func (w *worker) finish() {
	w.mu.Lock()
	w.finished = true
	w.sleeper.close()
	w.mu.Unlock()
}

// idle waits for the schedule to start; the fleet's connects and what they
// hear are applied meanwhile by their own goroutines.
func (w *worker) idle(ctx context.Context, started <-chan struct{}) {
	select {
	case <-started:
	case <-ctx.Done():
	}
}

// run sends the worker's slots on schedule, timing out requests between
// them; after the last slot it waits for outstanding requests to end and
// reads its shadows back. When the run is stopped it ends what it has in
// flight (stop) and returns.
func (w *worker) run(ctx context.Context) {
	stopKicks := context.AfterFunc(ctx, w.kick)
	defer stopKicks()
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
			if !w.sendAt(ctx, i, cycle, t, due) {
				w.stop()
				return
			}
		}
	}
	if !w.drain(ctx) || w.cfg.Verify && !w.verify(ctx) {
		w.stop()
	}
}

// scanEvery is how often a worker looks for requests past their timeout.
const scanEvery = int64(50 * time.Millisecond)

// sendAt sleeps until slot i is due, timing out requests every scanEvery
// meanwhile, and sends it. It returns false when the run is cancelled.
func (w *worker) sendAt(ctx context.Context, i, cycle int64, t *thing, due int64) bool {
	for {
		if ctx.Err() != nil {
			return false
		}
		var nap int64
		w.locked(func() {
			now := w.clock()
			if now >= w.nextScan {
				w.expire(now)
				w.nextScan = now + scanEvery
			}
			if nap = min(due-now, w.nextScan-now); due <= now {
				w.send(i, cycle, t, due)
			}
		})
		if nap <= 0 {
			return true
		}
		w.sleeper.sleep(time.Duration(nap))
	}
}

// await sleeps until done, checked under the worker's lock after every
// event and at least every d, says the wait is over; it returns false when
// the run is cancelled first.
func (w *worker) await(ctx context.Context, d time.Duration, done func(now int64) bool) bool {
	w.locked(func() { w.waiting = true })
	defer w.locked(func() { w.waiting = false })
	for {
		if ctx.Err() != nil {
			return false
		}
		var over bool
		w.locked(func() { over = done(w.clock()) })
		if over {
			return true
		}
		w.sleeper.sleep(d)
	}
}

// drain waits for the outstanding requests to be answered or time out, and
// for the deltas that accepted desired writes promised, up to the timeout.
// It returns false when the run is cancelled.
//
// Things that churn or a storm sent away are waited for as long as their
// absence and the timeout, so that the read-back finds them connected and
// the deltas their sessions kept arrive.
func (w *worker) drain(ctx context.Context) bool {
	var deadline, awayDeadline int64
	w.locked(func() {
		deadline = w.clock() + int64(w.cfg.Timeout)
		awayDeadline = deadline + int64(w.longestAbsence())
	})
	return w.await(ctx, 50*time.Millisecond, func(now int64) bool {
		w.expire(now)
		requests, deltas := w.outstanding()
		away := 0
		for _, t := range w.things {
			if t.away || t.leaving != nil {
				away++
			}
		}
		if away > 0 && now <= awayDeadline {
			return false
		}
		return requests == 0 && (deltas == 0 || now > deadline+int64(w.longestAbsence()))
	})
}

// longestAbsence is the longest time away a departure of the run asks for.
func (w *worker) longestAbsence() time.Duration {
	var d time.Duration
	for _, p := range w.cfg.Phases {
		if p.Churn.PerMinute > 0 {
			d = max(d, p.Churn.Offline)
		}
		if p.Storm.Share > 0 {
			d = max(d, p.Storm.Offline)
		}
	}
	return d
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
	var deadline int64
	w.locked(func() {
		w.stopping = true
		for _, t := range w.things {
			w.skipHeld(t)
		}
		deadline = w.clock() + int64(w.cfg.StopGrace)
	})
	w.await(context.Background(), time.Duration(scanEvery), func(now int64) bool {
		w.expire(now)
		requests, _ := w.outstanding()
		return requests == 0 || now >= deadline
	})
	w.endAll()
}

// endAll ends every request still in flight as timed out (a stopped run's
// unanswered requests), skips held-back slots, and gives up the read-backs
// still pending. The run calls it for every worker once they have all
// returned, so that a worker that panicked loses nothing from the books.
func (w *worker) endAll() {
	w.locked(func() {
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
						w.timeout(t, req)
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
	})
}

// late takes in what reaches the worker after it returned: replies that
// came after their request ended are stale but still part of the traffic
// observers saw; late connections are closed.
func (w *worker) late(ev event) {
	switch ev.kind {
	case evUp:
		w.closing = append(w.closing, ev.conn)
	case evReply:
		w.countReply(&w.things[ev.thing].shadows[ev.shadow], ev)
		w.stale.Add(1)
	case evDelta:
		w.things[ev.thing].shadows[ev.shadow].events[evtDelta]++
		w.rec.Add(w.ids.deltaReceived, 1)
	case evApp:
		w.appWrite(w.things[ev.thing], ev)
	}
}
