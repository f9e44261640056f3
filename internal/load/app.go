package load

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shadowload/shadowload/metrics"
	"github.com/shadowload/shadowload/shadow"
)

// app is the application side of a fleet whose devices come and go: while
// churn or a storm keeps a thing away it writes the thing's desired state
// once, as a cloud service changing a device's configuration would. The
// accepted write leaves a delta that only a persistent session keeps for
// the device: the device receives it when it resumes, and the delta's
// latency counts from the write (delta), and from the resume
// (delta.replayed).
//
// It writes on the first connection of the observer group marked
// OfflineWrites, and is answered there, on the group's filters.
type app struct {
	r    *runner
	conn Conn
	rec  *metrics.Recorder
	ids  *offlineWriteIDs

	mu      sync.Mutex
	seq     uint64
	pending map[uint64]appRequest
	buf     []byte
}

// appRequest is one write of the application waiting for its answer.
type appRequest struct {
	w    *worker
	t    *thing
	sent int64 // ns since the run's start
}

// appReply is what became of a write of the application, for the thing's
// books: observers' expected deliveries, the delta it promises, the
// version a read-back must find.
type appReply struct {
	answered, accepted bool
	version            int64
}

// appTokenPrefix starts the clientToken of the application's writes; a
// device's own tokens are base 36 digits only (appendToken).
const appTokenPrefix = "app-"

func isAppToken(tok string) bool { return strings.HasPrefix(tok, appTokenPrefix) }

// parseAppToken returns the sequence number of an application token.
func parseAppToken(tok string) (uint64, bool) {
	rest, ok := strings.CutPrefix(tok, appTokenPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 36, 64)
	return n, err == nil
}

// write sends one desired update to thing t of worker w: the stamp of now
// in a field of its own (DesiredStampField), as a cloud service changes one
// setting of a device.
func (a *app) write(w *worker, t *thing) {
	topic := t.shadows[0].topics[OpUpdate]
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	now := int64(a.r.cfg.Clock.Now().Sub(a.r.start))
	b := append(a.buf[:0], `{"state":{"desired":`...)
	b = appendStamped(b, nil, DesiredStampField, a.r.epoch+now)
	b = append(b, `},"clientToken":"`+appTokenPrefix...)
	b = strconv.AppendUint(b, a.seq, 36)
	b = append(b, `"}`...)
	a.buf = b
	if err := a.conn.Publish(topic, a.r.cfg.QoS, b); err != nil {
		// The application's connection is going down, which makes the run
		// invalid (an observer lost its connection): nothing to count.
		return
	}
	a.pending[a.seq] = appRequest{w: w, t: t, sent: now}
	a.rec.Add(a.ids.sent, 1)
}

// reply ends the write a reply on the application's connection names.
func (a *app) reply(tok uint64, accepted bool, version int64, at int64) {
	a.mu.Lock()
	req, ok := a.pending[tok]
	delete(a.pending, tok)
	a.mu.Unlock()
	if !ok {
		return
	}
	switch took := at - req.sent; {
	case took > int64(a.r.cfg.Timeout):
		a.rec.Add(a.ids.timeout, 1)
	case accepted:
		a.rec.Record(a.ids.accepted, took)
	default:
		a.rec.Record(a.ids.rejected, took)
	}
	req.w.deliver(event{kind: evApp, thing: req.t.local, app: &appReply{answered: true, accepted: accepted, version: version}})
}

// expire times out the writes older than the timeout at now (ns since the
// run's start); every one does when now is math.MaxInt64.
func (a *app) expire(now int64) {
	var ended []appRequest
	a.mu.Lock()
	for tok, req := range a.pending {
		if now-req.sent > int64(a.r.cfg.Timeout) {
			ended = append(ended, req)
			delete(a.pending, tok)
		}
	}
	a.mu.Unlock()
	for _, req := range ended {
		a.rec.Add(a.ids.timeout, 1)
		req.w.deliver(event{kind: evApp, thing: req.t.local, app: &appReply{}})
	}
}

// finish waits up to the timeout for the writes still unanswered, then
// times out the rest.
func (a *app) finish() {
	deadline := a.r.cfg.Clock.Now().Add(a.r.cfg.Timeout)
	for a.r.cfg.Clock.Now().Before(deadline) {
		a.mu.Lock()
		n := len(a.pending)
		a.mu.Unlock()
		if n == 0 {
			return
		}
		if !sleep(a.r.ctx, a.r.cfg.Clock, 50*time.Millisecond) {
			break
		}
	}
	a.expire(1<<63 - 1)
}

// observeReply hands the application the replies to its writes among what
// its connection receives.
func (a *app) observeReply(tp shadow.Topic, payload []byte, at int64) {
	if tp.Op != shadow.OpUpdate || (tp.Kind != shadow.KindAccepted && tp.Kind != shadow.KindRejected) {
		return
	}
	r, err := shadow.ParseReply(payload)
	if err != nil {
		return
	}
	if tok, ok := parseAppToken(r.ClientToken); ok {
		a.reply(tok, tp.Kind == shadow.KindAccepted, r.Version, at)
	}
}

// appWrite books the application's write to t: the request and its replies
// for the observers' expected deliveries, the delta it promises, and the
// version a read-back must find. The worker's lock is held.
func (w *worker) appWrite(t *thing, ev event) {
	ss := &t.shadows[0]
	ss.events[evtRequest+int(OpUpdate)]++
	if !ev.app.answered {
		return
	}
	if !ev.app.accepted {
		ss.events[evtRejected+int(OpUpdate)]++
		return
	}
	ss.events[evtAccepted+int(OpUpdate)]++
	ss.events[evtDocuments]++
	ss.updateVersion = max(ss.updateVersion, ev.app.version)
	ss.lastVersion = max(ss.lastVersion, ev.app.version)
	if !w.finished {
		w.rec.Add(w.ids.deltaExpected, 1)
		ss.awaitDelta++
	}
}
