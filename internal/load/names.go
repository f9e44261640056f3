package load

import (
	"strconv"

	"github.com/shadowload/shadowload/metrics"
)

// The gauges of a run, sampled at the end of every interval
// (metrics.Interval.Gauges).
const (
	// GaugeThingsUp is the things whose connection is up.
	GaugeThingsUp = "things.up"
	// GaugeScheduleRate is the schedule's whole-fleet rate, requests per
	// second; 0 before the schedule starts and after it ends.
	GaugeScheduleRate = "schedule.rate"
)

// rejectCodes are the rejection codes of the shadow service (reference §4)
// that get a latency metric of their own; any other lands in "other".
var rejectCodes = []int{400, 401, 403, 404, 409, 413, 415, 429, 500, 503}

// ids are the metrics a run records, declared once before recording starts.
type ids struct {
	connect, subscribe           metrics.ID
	scheduled, sent              [numOps]metrics.ID
	accepted, acceptedUncorr     [numOps]metrics.ID
	rejected, rejectedUncorr     [numOps]metrics.ID
	rejectedCode                 [numOps][]metrics.ID // parallel to rejectCodes, plus "other" last
	timeout                      [numOps]metrics.ID
	unanswered                   metrics.ID
	slots, late, skipped, lag    metrics.ID
	deferred                     metrics.ID
	delta                        metrics.ID
	deltaExpected, deltaReceived metrics.ID
	deltaResponses, deltaSkipped metrics.ID
	reconnects                   metrics.ID
	connectFailed                map[string]metrics.ID
	bytesOut, bytesIn            metrics.ID
	violations                   metrics.ID
	verifyRead, verifyLost       metrics.ID
	verifyUnanswered             metrics.ID
	verifyDenied                 metrics.ID
	fanout                       []fanoutIDs // per observer group
	phase                        []phaseIDs  // per phase
	protocol                     [numProtocols]protocolIDs
	abandoned                    [numOps]metrics.ID // outstanding at an ungraceful departure
	offline                      metrics.ID         // slots of things away by churn or a storm
	reconnect                    metrics.ID         // latency: reconnect attempts begun → connection up
	sessionResumed, sessionLost  metrics.ID
	departures, departSkipped    metrics.ID
	deltaReplayed                metrics.ID // latency: session resumed → delta that waited in it
	offlineWrites                offlineWriteIDs
}

// offlineWriteIDs are the metrics of the application's desired writes to
// things that are away.
type offlineWriteIDs struct {
	sent, timeout      metrics.ID
	accepted, rejected metrics.ID // latencies
}

// protocolIDs are the metrics of the things that speak one protocol: how
// many there are, and what their requests became.
type protocolIDs struct {
	things, sent, timeout metrics.ID
	accepted, rejected    metrics.ID // counters of requests
	updateAccepted        metrics.ID // update→accepted latency, corrected
}

// phaseIDs are the metrics scoped to one phase: what its slots and the
// requests sent for them recorded.
type phaseIDs struct {
	scheduled, sent, timeout       [numOps]metrics.ID
	accepted, rejected             [numOps]metrics.ID
	slots, late, skipped, deferred metrics.ID
	offline                        metrics.ID
	delta                          metrics.ID
	fanout                         []metrics.ID // latency per observer group
}

// fanoutIDs are the metrics of one observer group, and of each of its
// filters when it has several.
type fanoutIDs struct {
	latency, expected, received metrics.ID
	filters                     []fanoutIDs
}

// MetricNames lists every metric a run of the given phases and observer
// groups records, whole-run and scoped to each phase: what thresholds may
// name.
func MetricNames(phases []string, groups []ObserverGroup) []string {
	set := metrics.NewSet()
	declare(set, phases, groups)
	return set.Names()
}

// declare registers every metric of a run with set.
func declare(set *metrics.Set, phases []string, groups []ObserverGroup) *ids {
	m := &ids{connectFailed: map[string]metrics.ID{}}
	m.connect = set.Latency("connect")
	m.subscribe = set.Latency("subscribe")
	m.declareRequests(set, "")
	for _, g := range groups {
		f := declareFanout(set, "fanout."+g.Name)
		if len(g.Filters) > 1 {
			for k := range g.Filters {
				f.filters = append(f.filters, declareFanout(set, "fanout."+g.Name+".f"+strconv.Itoa(k)))
			}
		}
		m.fanout = append(m.fanout, f)
	}
	m.unanswered = set.Counter("requests.unanswered")
	m.late = set.Counter("schedule.late", metrics.Base("schedule.slots"))
	m.skipped = set.Counter("schedule.skipped", metrics.Base("schedule.slots"))
	m.deferred = set.Counter("schedule.deferred", metrics.Base("schedule.slots"))
	m.slots = set.Counter("schedule.slots")
	m.offline = set.Counter("schedule.offline", metrics.Base("schedule.slots"))
	for op := Op(0); op < numOps; op++ {
		m.abandoned[op] = set.Counter(op.String()+".abandoned", metrics.Base(op.String()+".sent"))
	}
	m.reconnect = set.Latency("reconnect")
	m.sessionResumed = set.Counter("session.resumed")
	m.sessionLost = set.Counter("session.lost")
	m.departures = set.Counter("churn.departures")
	m.departSkipped = set.Counter("churn.skipped")
	m.deltaReplayed = set.Latency("delta.replayed")
	m.offlineWrites = offlineWriteIDs{
		sent:     set.Counter("offline.update.sent"),
		accepted: set.Latency("offline.update.accepted", metrics.Base("offline.update.sent")),
		rejected: set.Latency("offline.update.rejected", metrics.Base("offline.update.sent")),
		timeout:  set.Counter("offline.update.timeout", metrics.Base("offline.update.sent")),
	}
	m.lag = set.Latency("schedule.lag")
	m.delta = set.Latency("delta")
	m.deltaExpected = set.Counter("delta.expected")
	m.deltaReceived = set.Counter("delta.received", metrics.Base("delta.expected"), metrics.Planned("delta.expected"))
	m.deltaResponses = set.Counter("delta.responses")
	m.deltaSkipped = set.Counter("delta.skipped")
	m.reconnects = set.Counter("reconnects")
	for _, r := range connectReasons {
		m.connectFailed[r] = set.Counter("connect.failed." + r)
	}
	m.bytesOut = set.Counter("bytes.out")
	m.bytesIn = set.Counter("bytes.in")
	m.violations = set.Counter("violations")
	m.verifyRead = set.Counter("verify.read")
	m.verifyLost = set.Counter("verify.lost")
	m.verifyUnanswered = set.Counter("verify.unanswered")
	m.verifyDenied = set.Counter("verify.denied")
	for _, name := range []string{"replies.stale", "messages.foreign", "things", "things.connected"} {
		set.Counter(name)
	}
	for _, pr := range Protocols() {
		n := pr.String()
		sent := metrics.Base("requests." + n + ".sent")
		m.protocol[pr] = protocolIDs{
			things:         set.Counter("things." + n),
			sent:           set.Counter("requests." + n + ".sent"),
			accepted:       set.Counter("requests."+n+".accepted", sent),
			rejected:       set.Counter("requests."+n+".rejected", sent),
			timeout:        set.Counter("requests."+n+".timeout", sent),
			updateAccepted: set.Latency("update.accepted."+n, metrics.Base("requests."+n+".sent")),
		}
	}
	for _, ph := range phases {
		m.phase = append(m.phase, declarePhase(set, ph, groups))
	}
	return m
}

// declareRequests declares the request metrics, whole-run when phase is ""
// and scoped to the phase otherwise; the whole-run ones go into m.
func (m *ids) declareRequests(set *metrics.Set, phase string) (p phaseIDs) {
	name := func(n string) string {
		if phase == "" {
			return n
		}
		return metrics.Scoped(n, phase)
	}
	for op := Op(0); op < numOps; op++ {
		n := op.String()
		sent, planned := metrics.Base(name(n+".sent")), metrics.Planned(name(n+".scheduled"))
		p.scheduled[op] = set.Counter(name(n + ".scheduled"))
		p.sent[op] = set.Counter(name(n+".sent"), planned)
		p.accepted[op] = set.Latency(name(n+".accepted"), sent, planned)
		p.rejected[op] = set.Latency(name(n+".rejected"), sent, planned)
		p.timeout[op] = set.Counter(name(n+".timeout"), sent, planned)
		if phase != "" {
			continue
		}
		m.acceptedUncorr[op] = set.Latency(n+".accepted.uncorrected", sent)
		m.rejectedUncorr[op] = set.Latency(n+".rejected.uncorrected", sent)
		for _, code := range rejectCodes {
			m.rejectedCode[op] = append(m.rejectedCode[op], set.Latency(n+".rejected."+strconv.Itoa(code), sent))
		}
		m.rejectedCode[op] = append(m.rejectedCode[op], set.Latency(n+".rejected.other", sent))
	}
	if phase == "" {
		m.scheduled, m.sent, m.accepted, m.rejected, m.timeout = p.scheduled, p.sent, p.accepted, p.rejected, p.timeout
	}
	return p
}

// declarePhase declares the metrics scoped to one phase.
func declarePhase(set *metrics.Set, phase string, groups []ObserverGroup) phaseIDs {
	p := (&ids{}).declareRequests(set, phase)
	slots := metrics.Scoped("schedule.slots", phase)
	p.slots = set.Counter(slots)
	p.late = set.Counter(metrics.Scoped("schedule.late", phase), metrics.Base(slots))
	p.skipped = set.Counter(metrics.Scoped("schedule.skipped", phase), metrics.Base(slots))
	p.deferred = set.Counter(metrics.Scoped("schedule.deferred", phase), metrics.Base(slots))
	p.offline = set.Counter(metrics.Scoped("schedule.offline", phase), metrics.Base(slots))
	p.delta = set.Latency(metrics.Scoped("delta", phase))
	for _, g := range groups {
		p.fanout = append(p.fanout, set.Latency(metrics.Scoped("fanout."+g.Name, phase)))
	}
	return p
}

// rejectIndex returns the index into rejectedCode for code.
func rejectIndex(code int) int {
	for i, c := range rejectCodes {
		if c == code {
			return i
		}
	}
	return len(rejectCodes)
}

// declareFanout declares the latency, expected and received metrics named
// from prefix.
func declareFanout(set *metrics.Set, prefix string) fanoutIDs {
	return fanoutIDs{
		latency:  set.Latency(prefix),
		expected: set.Counter(prefix + ".expected"),
		received: set.Counter(prefix+".received", metrics.Base(prefix+".expected"), metrics.Planned(prefix+".expected")),
	}
}
