package load

import (
	"strconv"

	"github.com/shadowload/shadowload/metrics"
)

// rejectCodes are the rejection codes of the shadow service (reference §4)
// that get a latency metric of their own; any other lands in "other".
var rejectCodes = []int{400, 401, 403, 404, 409, 413, 415, 429, 500, 503}

// ids are the metrics a run records, declared once before recording starts.
type ids struct {
	connect, subscribe           metrics.ID
	sent                         [numOps]metrics.ID
	accepted, acceptedUncorr     [numOps]metrics.ID
	rejected, rejectedUncorr     [numOps]metrics.ID
	rejectedCode                 [numOps][]metrics.ID // parallel to rejectCodes, plus "other" last
	timeout                      [numOps]metrics.ID
	slots, late, skipped, lag    metrics.ID
	deferred                     metrics.ID
	delta                        metrics.ID
	deltaExpected, deltaReceived metrics.ID
	deltaResponses, deltaSkipped metrics.ID
	reconnects                   metrics.ID
	connectFailed                map[string]metrics.ID
	bytesOut, bytesIn            metrics.ID
	violations                   metrics.ID
	fanout                       []fanoutIDs // per observer group
}

// fanoutIDs are the metrics of one observer group, and of each of its
// filters when it has several.
type fanoutIDs struct {
	latency, expected, received metrics.ID
	filters                     []fanoutIDs
}

// connectReasons are the labels of connect failures.
var connectReasons = []string{"dial", "tls", "connack", "subscribe", "timeout", "other"}

// declare registers every metric of a run with set.
func declare(set *metrics.Set, groups []ObserverGroup) *ids {
	m := &ids{connectFailed: map[string]metrics.ID{}}
	m.connect = set.Latency("connect")
	m.subscribe = set.Latency("subscribe")
	for op := Op(0); op < numOps; op++ {
		n := op.String()
		m.sent[op] = set.Counter(n + ".sent")
		m.accepted[op] = set.Latency(n+".accepted", metrics.Base(n+".sent"))
		m.acceptedUncorr[op] = set.Latency(n+".accepted.uncorrected", metrics.Base(n+".sent"))
		m.rejected[op] = set.Latency(n+".rejected", metrics.Base(n+".sent"))
		m.rejectedUncorr[op] = set.Latency(n+".rejected.uncorrected", metrics.Base(n+".sent"))
		for _, code := range rejectCodes {
			m.rejectedCode[op] = append(m.rejectedCode[op], set.Latency(n+".rejected."+strconv.Itoa(code), metrics.Base(n+".sent")))
		}
		m.rejectedCode[op] = append(m.rejectedCode[op], set.Latency(n+".rejected.other", metrics.Base(n+".sent")))
		m.timeout[op] = set.Counter(n+".timeout", metrics.Base(n+".sent"))
	}
	m.late = set.Counter("schedule.late", metrics.Base("schedule.slots"))
	m.skipped = set.Counter("schedule.skipped", metrics.Base("schedule.slots"))
	m.deferred = set.Counter("schedule.deferred", metrics.Base("schedule.slots"))
	m.slots = set.Counter("schedule.slots")
	m.lag = set.Latency("schedule.lag")
	m.delta = set.Latency("delta")
	m.deltaExpected = set.Counter("delta.expected")
	m.deltaReceived = set.Counter("delta.received", metrics.Base("delta.expected"))
	m.deltaResponses = set.Counter("delta.responses")
	m.deltaSkipped = set.Counter("delta.skipped")
	m.reconnects = set.Counter("reconnects")
	for _, r := range connectReasons {
		m.connectFailed[r] = set.Counter("connect.failed." + r)
	}
	m.bytesOut = set.Counter("bytes.out")
	m.bytesIn = set.Counter("bytes.in")
	m.violations = set.Counter("violations")
	for _, g := range groups {
		f := declareFanout(set, "fanout."+g.Name)
		if len(g.Filters) > 1 {
			for k := range g.Filters {
				f.filters = append(f.filters, declareFanout(set, "fanout."+g.Name+".f"+strconv.Itoa(k)))
			}
		}
		m.fanout = append(m.fanout, f)
	}
	return m
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
		received: set.Counter(prefix+".received", metrics.Base(prefix+".expected")),
	}
}
