package load

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/shadowload/shadowload/internal/topic"
	"github.com/shadowload/shadowload/metrics"
)

// observer is one application-side connection of an observer group. Its
// messages arrive on the connection's own goroutine, which alone writes its
// recorder.
type observer struct {
	group    int
	rec      *metrics.Recorder
	client   *paho.Client
	received atomic.Int64
}

// connectObservers brings up every observer connection, in order, before
// the fleet, so they see all of its traffic.
func (r *runner) connectObservers(ctx context.Context) error {
	for g, grp := range r.cfg.Observers {
		for _, b := range grp.Bundles {
			o := &observer{group: g, rec: r.set.NewRecorder()}
			s := session{
				target:     r.cfg.Target,
				cert:       b.Certificate,
				clientID:   b.Thing,
				keepAlive:  r.cfg.KeepAlive,
				cleanStart: true,
				receiveMax: 1024,
				filters:    grp.Filters,
				subQoS:     r.cfg.QoS,
				timeout:    r.cfg.ConnectTimeout,
				onPublish:  r.observe(o),
			}
			cctx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
			c, connTook, subTook, err := dial(cctx, s)
			cancel()
			r.connMu.Lock()
			if err != nil {
				r.connRec.Add(r.ids.connectFailed[connectReason(err)], 1)
				r.connMu.Unlock()
				return &observerError{group: grp.Name, thing: b.Thing, err: err}
			}
			r.connRec.Record(r.ids.connect, int64(connTook))
			r.connRec.Record(r.ids.subscribe, int64(subTook))
			r.connMu.Unlock()
			o.client = c
			r.observers = append(r.observers, o)
		}
	}
	return nil
}

// observe returns the handler of one observer connection: it counts the
// delivery and times it from the stamp the sender put in the update.
func (r *runner) observe(o *observer) func(p *paho.Publish) {
	id, idRecv := r.ids.fanout[o.group], r.ids.fanoutReceived[o.group]
	return func(p *paho.Publish) {
		now := int64(time.Since(r.start))
		o.received.Add(1)
		o.rec.Add(idRecv, 1)
		if stamp := maxStamp(p.Payload); stamp >= 0 {
			o.rec.Record(id, now-stamp)
		}
	}
}

// observerError says which observer could not connect.
type observerError struct {
	group, thing string
	err          error
}

func (e *observerError) Error() string {
	return "observer " + e.group + " (" + e.thing + "): " + e.err.Error()
}
func (e *observerError) Unwrap() error { return e.err }

// expectedFanout counts, per observer group, the deliveries its filters
// should have received from the fleet's traffic: every request, reply,
// documents and delta message whose topic matches one of the group's filters,
// once per connection of the group.
func (r *runner) expectedFanout() []int64 {
	out := make([]int64, len(r.cfg.Observers))
	var kindTopic [numEvents]string
	for _, t := range r.things {
		for si := range t.shadows {
			prefix := shadowPrefix(t.bundle.Thing, t.names[si])
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
					if n == 0 {
						continue
					}
					for _, f := range grp.Filters {
						if topic.Match(f, name, r.cfg.HashMatchesDollar) {
							out[g] += n * int64(len(grp.Bundles))
							break
						}
					}
				}
			}
		}
	}
	return out
}

// shadowPrefix is the topic prefix of a classic ("") or named shadow.
func shadowPrefix(thing, name string) string {
	if name == "" {
		return "$aws/things/" + thing + "/shadow"
	}
	return "$aws/things/" + thing + "/shadow/name/" + name
}
