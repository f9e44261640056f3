package load

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/shadow"
)

// eventKind sorts what a worker hears from its things' connections.
type eventKind uint8

const (
	evReply   eventKind = iota + 1 // accepted or rejected for one of our requests
	evDelta                        // update/delta at the device
	evUp                           // a connection came up
	evLost                         // a connection went down
	evApp                          // the application's write to the thing while it was away ended
	evResumed                      // a connection's CONNACK resumed the thing's session
)

// event is what a connection's goroutine heard, applied to the thing under
// its worker's lock (worker.deliver).
type event struct {
	kind     eventKind
	thing    int32 // index into the worker's things
	shadow   uint8
	op       Op
	accepted bool
	code     int16
	slot     int
	gen      uint32
	version  int64
	at       int64 // ns since the run's start
	stamp    int64 // the message's newest stamp in ns since the run's start, -1 when none
	size     int
	state    []byte // delta: the flat delta state
	conn     Conn   // evUp: the connection
	connGen  uint32 // evUp, evLost: the connection's generation
	since    int64  // evUp: when the reconnect attempts began, ns since the run's start; -1 for a first connect
	present  bool   // evUp: the CONNACK's session present flag
	app      *appReply
}

// numEvents counts the kinds of shadow message a thing's traffic causes, for
// working out how many deliveries an observer should see.
const (
	evtRequest   = 0 // + op
	evtAccepted  = 3 // + op
	evtRejected  = 6 // + op
	evtDocuments = 9
	evtDelta     = 10
	numEvents    = 11
)

// shadowState is what a thing's connection knows of one of its shadows.
type shadowState struct {
	topics      [numOps]string // request topics
	lastVersion int64          // newest version seen, for optimistic updates
	lastSeq     int64          // send order of the newest accepted update seen
	lastSeqVer  int64          // and its version
	events      [numEvents]int64
	awaitDelta  int64 // accepted desired writes less deltas arrived; below 0 when a delta beat its accepted
	// lastDeltaStamp is the newest desired-write stamp a delta carried.
	lastDeltaStamp int64
	// updateVersion and deleteVersion are the highest versions the target
	// accepted an update and a delete at: what a read-back must find.
	updateVersion, deleteVersion int64
	// verifyPending says the shadow still waits to be read back.
	verifyPending bool
}

// thing is one simulated device: its identity, its connection and the
// requests it has outstanding. A worker owns it.
type thing struct {
	index    int // in the fleet, for the payload generator
	local    int32
	protocol Protocol
	bundle   fleet.Bundle
	shadows  []shadowState
	names    []string // shadow names, parallel to shadows
	conn     Conn
	connGen  uint32 // generation of the current connection
	up       bool
	// lostEarly is a connection generation that was lost before its
	// evUp reached the worker.
	lostEarly uint32
	// attempts numbers connection attempts: each gets its own generation.
	attempts atomic.Uint32
	inflight inflight
	held     backlog // slots waiting for room in flight
	seq      int64
	// away says churn or a storm sent the thing away and it is not back:
	// its slots are offline, not skipped.
	away bool
	// leaving is the graceful departure waiting for the requests in
	// flight to end.
	leaving *departure
	// resumedAt is when the thing last came back on a resumed session, ns
	// since the run's start: deltas older than it waited in the session.
	resumedAt int64
}

// handler returns the function that receives the thing's deliveries on the
// connection's goroutine: it parses only what correlation needs and hands
// the rest to the worker.
func (t *thing) handler(w *worker) func(topic string, payload []byte) {
	where := "the delivery handler of " + t.bundle.Thing
	return func(topic string, payload []byte) {
		defer w.r.recoverPanic(where)
		now := w.clock()
		tp, err := shadow.ParseTopic(topic)
		if err != nil || tp.Thing != t.bundle.Thing {
			w.foreign.Add(1)
			return
		}
		si := -1
		for i, n := range t.names {
			if n == tp.Shadow {
				si = i
				break
			}
		}
		if si < 0 {
			w.foreign.Add(1)
			return
		}
		ev := event{thing: t.local, shadow: uint8(si), at: now, size: len(payload) + len(topic)}
		switch tp.Kind {
		case shadow.KindAccepted, shadow.KindRejected:
			r, err := shadow.ParseReply(payload)
			if err != nil {
				w.foreign.Add(1)
				return
			}
			ev.kind = evReply
			ev.op = opOf(tp.Op)
			ev.accepted = tp.Kind == shadow.KindAccepted
			ev.version = r.Version
			ev.code = int16(r.Code)
			slot, gen, ok := parseToken(r.ClientToken)
			if !ok {
				if !isAppToken(r.ClientToken) {
					w.foreign.Add(1)
				}
				// The application's write while the thing was away is
				// answered to the application too, which counts it.
				return
			}
			ev.slot, ev.gen = slot, gen
		case shadow.KindDelta:
			r, err := shadow.ParseReply(payload)
			if err != nil {
				w.foreign.Add(1)
				return
			}
			ev.kind = evDelta
			ev.version = r.Version
			// The payload is the connection's read buffer, valid only
			// during this call: the worker applies the event within it.
			ev.state = r.State
			ev.stamp = -1
			if st := maxStamp(r.State); st >= 0 {
				ev.stamp = st - w.r.epoch
			}
		default:
			w.foreign.Add(1)
			return
		}
		w.deliver(ev)
	}
}

// opOf maps the shadow package's operation to ours.
func opOf(o shadow.Op) Op {
	switch o {
	case shadow.OpGet:
		return OpGet
	case shadow.OpDelete:
		return OpDelete
	}
	return OpUpdate
}

// DeviceFilters are the reply topics a thing subscribes to, in one
// SUBSCRIBE, for its shadows ("" is the classic one): accepted and rejected
// of every operation and update/delta, with a wildcard for the operation and
// one for the shadow name, so at most 6 filters whatever the number of named
// shadows, inside AWS's 8 per SUBSCRIBE. AWS's advice against ".../shadow/#"
// is kept: the documents topic and the requests themselves are not received.
func DeviceFilters(thingName string, shadows []string) []string {
	var classic, named bool
	for _, s := range shadows {
		if s == "" {
			classic = true
		} else {
			named = true
		}
	}
	var f []string
	if classic {
		p := "$aws/things/" + thingName + "/shadow/"
		f = append(f, p+"+/accepted", p+"+/rejected", p+"update/delta")
	}
	if named {
		p := "$aws/things/" + thingName + "/shadow/name/+/"
		f = append(f, p+"+/accepted", p+"+/rejected", p+"update/delta")
	}
	return f
}

// connect makes one attempt to bring the thing's connection up and reports
// it to the worker. Every attempt has a generation of its own, so the loss
// of one attempt's connection cannot be taken for another's.
// since is when the reconnect attempts began (ns since the run's start),
// or -1 for the thing's first connect.
func (t *thing) connect(ctx context.Context, w *worker, since int64) error {
	gen := t.attempts.Add(1)
	r := w.r
	c, connTook, subTook, err := r.dial(ctx, Session{
		ClientID:       t.bundle.Thing,
		Certificate:    t.bundle.Certificate,
		Protocol:       t.protocol,
		KeepAlive:      w.cfg.KeepAlive,
		CleanStart:     !w.cfg.Persistent,
		SessionExpiry:  w.sessionExpiry(),
		ReceiveMaximum: uint16(2*w.cfg.InFlight + 16),
		OnConnack: func(present bool) {
			if present && w.cfg.Persistent {
				w.deliver(event{kind: evResumed, thing: t.local, at: w.clock()})
			}
		},
		OnMessage: t.handler(w),
		OnLost: func(error) {
			w.deliver(event{kind: evLost, thing: t.local, connGen: gen})
		},
	}, DeviceFilters(t.bundle.Thing, t.names))
	if err != nil {
		return err
	}
	r.connMu.Lock()
	r.connRec.Record(w.ids.connect, int64(connTook))
	if subTook >= 0 {
		r.connRec.Record(w.ids.subscribe, int64(subTook))
	}
	r.connMu.Unlock()
	w.deliver(event{kind: evUp, thing: t.local, conn: c, connGen: gen, since: since, present: c.SessionPresent(), at: w.clock()})
	return nil
}

// sessionExpiry is the Session Expiry Interval things ask for: none for
// clean sessions.
func (w *worker) sessionExpiry() time.Duration {
	if w.cfg.Persistent {
		return w.cfg.SessionExpiry
	}
	return 0
}
