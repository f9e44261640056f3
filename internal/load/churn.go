package load

import (
	"context"
	"time"
)

// Churn disconnects and reconnects things during a phase, as a fleet's
// devices come and go: PerMinute of the fleet each minute, spread evenly
// over the phase, each away for Offline before it reconnects (paced by the
// connect rate, as every connect is).
type Churn struct {
	// PerMinute is the share of the fleet disconnected each minute (0.05
	// for 5%/min); zero means none.
	PerMinute float64
	// Graceful sends DISCONNECT once the thing's requests in flight have
	// ended; otherwise the socket is dropped with them outstanding, as a
	// device that lost its network.
	Graceful bool
	// Offline is how long a disconnected thing stays away.
	Offline time.Duration
}

// Storm disconnects a share of the fleet at once when its phase starts;
// they come back after Offline, paced by the connect rate: a reconnect
// storm.
type Storm struct {
	// Share is the part of the fleet disconnected (1 for all); zero means
	// none.
	Share float64
	// Graceful and Offline are as for Churn.
	Graceful bool
	Offline  time.Duration
}

// departure is one planned disconnect: a thing leaves at a time of the
// schedule.
type departure struct {
	at       time.Duration // from the schedule's start
	thing    int
	graceful bool
	offline  time.Duration
	phase    int
}

// departures lays out the disconnects the phases' churn and storms ask
// for, in time order. Things are taken in a fixed shuffled order, cycling,
// so that successive departures hit different things and a run repeats.
func (s *Schedule) departures(specs []PhaseSpec, things int) []departure {
	if things == 0 {
		return nil
	}
	var out []departure
	next := 0
	pick := func() int {
		i := int(splitmix(uint64(next)) % uint64(things))
		next++
		return i
	}
	for n, p := range s.phases {
		spec := specs[n]
		if k := int(spec.Storm.Share*float64(things) + 0.5); k > 0 {
			// The storm takes k distinct things: a stride through the
			// fleet from a shuffled start.
			start := pick()
			for j := 0; j < min(k, things); j++ {
				out = append(out, departure{at: p.offset, thing: (start + j) % things, graceful: spec.Storm.Graceful, offline: spec.Storm.Offline, phase: n})
			}
		}
		if c := spec.Churn.PerMinute; c > 0 && p.Duration > 0 {
			count := int(c*float64(things)*p.Duration.Minutes() + 0.5)
			for j := 0; j < count; j++ {
				at := p.offset + time.Duration((float64(j)+0.5)/float64(count)*float64(p.Duration))
				out = append(out, departure{at: at, thing: pick(), graceful: spec.Churn.Graceful, offline: spec.Churn.Offline, phase: n})
			}
		}
	}
	// Phases follow one another and each one's departures are in order.
	return out
}

// churn sends the things away at their departure times until the schedule
// ends or the run stops, and times out the application's writes between.
func (r *runner) churn(ctx context.Context, plan []departure) {
	defer r.recoverPanic("the churn")
	for _, d := range plan {
		wait := r.schedStart() + d.at - r.cfg.Clock.Now().Sub(r.start)
		if !sleep(ctx, r.cfg.Clock, wait) {
			return
		}
		t := r.things[d.thing]
		r.workers[d.thing%len(r.workers)].depart(t, d)
		if r.app != nil {
			r.app.expire(int64(r.cfg.Clock.Now().Sub(r.start)))
		}
	}
}

// depart sends a thing away for a departure: at once when ungraceful, once
// its requests in flight have ended when graceful. A thing that is not
// connected at its departure time (lost, or still away) stays as it is.
func (w *worker) depart(t *thing, d departure) {
	w.locked(func() {
		if w.stopping || w.finished || !t.up || t.away || t.leaving != nil {
			w.rec.Add(w.ids.departSkipped, 1)
			return
		}
		w.rec.Add(w.ids.departures, 1)
		// What waited behind the in-flight cap will not leave now.
		for t.held.len() > 0 {
			p, _ := t.held.pop()
			w.rec.Add(w.ids.offline, 1)
			w.rec.Add(w.phaseIDs(p.phase).offline, 1)
		}
		t.leaving = &d
		if !d.graceful {
			w.leave(t)
			return
		}
		w.leaveIfIdle(t)
	})
}

// leaveIfIdle ends a graceful departure once the thing has nothing in
// flight. The worker's lock is held.
func (w *worker) leaveIfIdle(t *thing) {
	if t.leaving != nil && t.inflight.used == 0 {
		w.leave(t)
	}
}

// leave ends the thing's connection for its departure — DISCONNECT when
// graceful, the socket dropped otherwise — and brings it back after the
// departure's time away. Requests still outstanding (an ungraceful
// departure's) end as abandoned: the device walked away from them; their
// replies, if any come later, are stale. The worker's lock is held.
func (w *worker) leave(t *thing) {
	d := *t.leaving
	conn := t.conn
	t.up, t.conn, t.leaving, t.away = false, nil, nil, true
	w.r.up.Add(-1)
	if d.graceful {
		w.closing = append(w.closing, conn)
	} else {
		w.dropping = append(w.dropping, conn)
	}
	for s := range t.inflight.slots {
		if req := &t.inflight.slots[s]; req.busy {
			if req.verify {
				w.rec.Add(w.ids.verifyUnanswered, 1)
			} else {
				w.rec.Add(w.ids.abandoned[req.op], 1)
			}
			t.inflight.release(s)
		}
	}
	var halfway func()
	if ap := w.r.app; ap != nil {
		halfway = func() { ap.write(w, t) }
	}
	w.r.comeBack(t, w, d.offline, halfway)
}
