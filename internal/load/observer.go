package load

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/shadowload/shadowload/internal/topic"
	"github.com/shadowload/shadowload/metrics"
	"github.com/shadowload/shadowload/shadow"
)

// observer is one application-side connection of an observer group. Its
// messages arrive on the connection's own goroutine, which alone writes its
// recorder.
type observer struct {
	group    int
	rec      *metrics.Recorder
	conn     Conn
	received atomic.Int64
	lost     atomic.Bool
	// app, on the connection the application writes on, takes the
	// replies to its writes.
	app *app
	// lastDelta is the newest desired-write stamp seen in a delta, per
	// thing and shadow (index thing*shadows+shadow), so a delta repeating an
	// older write is counted but not timed.
	lastDelta []int64
}

// connectObservers brings up every observer connection, in order, before
// the fleet, so they see all of its traffic.
func (r *runner) connectObservers(ctx context.Context) error {
	for g, grp := range r.cfg.Observers {
		for _, b := range grp.Bundles {
			o := &observer{group: g, rec: r.set.NewRecorder(), lastDelta: make([]int64, len(r.things)*len(r.cfg.Shadows))}
			if !r.pace(ctx) {
				return fmt.Errorf("%w: %v", ErrObserverConnect, context.Cause(ctx))
			}
			c, connTook, subTook, err := r.dial(ctx, Session{
				ClientID:       b.Thing,
				Certificate:    b.Certificate,
				KeepAlive:      r.cfg.KeepAlive,
				CleanStart:     true,
				ReceiveMaximum: 1024,
				OnMessage:      r.observe(o),
				OnLost:         func(error) { o.lost.Store(true) },
			}, grp.Filters)
			if err != nil {
				return fmt.Errorf("%w: group %s (%s): %w", ErrObserverConnect, grp.Name, b.Thing, err)
			}
			r.connMu.Lock()
			r.connRec.Record(r.ids.connect, int64(connTook))
			r.connRec.Record(r.ids.subscribe, int64(subTook))
			r.connMu.Unlock()
			o.conn = c
			r.observers = append(r.observers, o)
			if grp.OfflineWrites && r.app == nil {
				r.app = &app{r: r, conn: c, rec: o.rec, ids: &r.ids.offlineWrites, pending: map[uint64]appRequest{}}
				o.app = r.app
			}
		}
	}
	return nil
}

// observe returns the handler of one observer connection: it counts every
// delivery and times those that carry the send stamp of the update behind
// them (update requests, update/accepted, update/documents, update/delta)
// from that stamp, for the run and for the phase the update was sent in.
// Get and delete replies echo an older state: counted, not timed.
func (r *runner) observe(o *observer) func(topic string, payload []byte) {
	ids := r.ids.fanout[o.group]
	filters := r.cfg.Observers[o.group].Filters
	return func(name string, payload []byte) {
		defer r.recoverPanic("an observer's delivery handler")
		now := int64(r.cfg.Clock.Now().Sub(r.start))
		o.received.Add(1)
		o.rec.Add(ids.received, 1)
		per := -1
		if len(ids.filters) > 0 {
			per = firstMatch(filters, name, r.cfg.HashMatchesDollar)
			if per >= 0 {
				o.rec.Add(ids.filters[per].received, 1)
			}
		}
		tp, err := shadow.ParseTopic(name)
		if err == nil && o.app != nil {
			o.app.observeReply(tp, payload, now)
		}
		if err != nil || tp.Op != shadow.OpUpdate || tp.Kind == shadow.KindRejected {
			return
		}
		stamp := maxStamp(payload) - r.epoch
		if stamp < 0 {
			return // no stamp, or one from an earlier run
		}
		if tp.Kind == shadow.KindDelta {
			k, ok := r.shadowIndex(tp.Thing, tp.Shadow)
			if !ok || stamp <= o.lastDelta[k] {
				return
			}
			o.lastDelta[k] = stamp
		}
		o.rec.Record(ids.latency, now-stamp)
		if p := r.sched.PhaseAt(time.Duration(stamp) - r.schedStart()); p >= 0 {
			o.rec.Record(r.ids.phase[p].fanout[o.group], now-stamp)
		}
		if per >= 0 {
			o.rec.Record(ids.filters[per].latency, now-stamp)
		}
	}
}

// firstMatch returns the index of the first filter matching topic, or -1: a
// delivery is counted once, for the first of a connection's filters it
// matches.
func firstMatch(filters []string, name string, dollarWildcards bool) int {
	for k, f := range filters {
		if topic.Match(f, name, dollarWildcards) {
			return k
		}
	}
	return -1
}

// shadowIndex numbers a thing's shadow across the fleet, for per-shadow
// tables: thing index × shadows per thing + shadow.
func (r *runner) shadowIndex(thing, shadowName string) (int, bool) {
	i, ok := r.thingIndex[thing]
	if !ok {
		return 0, false
	}
	for si, n := range r.cfg.Shadows {
		if n == shadowName {
			return i*len(r.cfg.Shadows) + si, true
		}
	}
	return 0, false
}

// expectedFanout counts, per observer group, the deliveries its filters
// should have received from the fleet's traffic: every request, reply,
// documents and delta message whose topic matches one of the group's
// filters, once per connection of the group. perFilter splits each group's
// count by the first filter matching (for groups of several filters).
func (r *runner) expectedFanout() (groups []int64, perFilter [][]int64) {
	groups = make([]int64, len(r.cfg.Observers))
	perFilter = make([][]int64, len(r.cfg.Observers))
	for g, grp := range r.cfg.Observers {
		perFilter[g] = make([]int64, len(grp.Filters))
	}
	var kindTopic [numEvents]string
	for _, w := range r.workers {
		w.locked(func() {
			for _, t := range w.things {
				r.countFanout(t, &kindTopic, groups, perFilter)
			}
		})
	}
	return groups, perFilter
}

// countFanout adds the deliveries thing t's traffic owes each observer
// group; its worker's lock is held.
func (r *runner) countFanout(t *thing, kindTopic *[numEvents]string, groups []int64, perFilter [][]int64) {
	for si := range t.shadows {
		prefix := shadow.Prefix(t.bundle.Thing, t.names[si])
		for op := Op(0); op < numOps; op++ {
			kindTopic[evtRequest+int(op)] = prefix + "/" + op.String()
			kindTopic[evtAccepted+int(op)] = prefix + "/" + op.String() + "/accepted"
			kindTopic[evtRejected+int(op)] = prefix + "/" + op.String() + "/rejected"
		}
		kindTopic[evtDocuments] = prefix + "/update/documents"
		kindTopic[evtDelta] = prefix + "/update/delta"
		for g, grp := range r.cfg.Observers {
			for k, name := range kindTopic {
				n := t.shadows[si].events[k]
				if k == evtDelta {
					// Deltas the devices missed still reached the
					// broker: every accepted desired write made one.
					n += max(t.shadows[si].awaitDelta, 0)
				}
				if n == 0 {
					continue
				}
				if f := firstMatch(grp.Filters, name, r.cfg.HashMatchesDollar); f >= 0 {
					n *= grp.connections()
					groups[g] += n
					perFilter[g][f] += n
				}
			}
		}
	}
}
