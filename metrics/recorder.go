package metrics

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Recorder records the measurements of one goroutine. Record and Add are
// safe to call concurrently, but a recorder is meant for one goroutine: the
// only other party to its lock is then the Collector, which holds it just
// long enough to swap histogram pointers once an interval. Add never
// allocates; Record allocates a histogram the first time it records a
// metric and once more after the first interval that took it, then never.
//
// Memory: each latency metric a recorder actually records holds two dense
// histograms of about 144 KiB each (the live one and the one the collector
// hands back); metrics a recorder never records cost nothing.
type Recorder struct {
	kinds []kind
	names []string

	mu    sync.Mutex
	live  []*hdrhistogram.Histogram // guarded by mu; nil until first recorded
	below []int64                   // guarded by mu: values clamped up to LowestLatency
	above []int64                   // guarded by mu: values clamped down to HighestLatency

	counts []atomic.Int64

	// spare is touched only by the Collector (under its own lock): the
	// emptied histograms it swaps into live at the next interval.
	spare []*hdrhistogram.Histogram
}

// NewRecorder returns a Recorder for one goroutine and registers it with the
// set's Collector. It freezes the set.
func (s *Set) NewRecorder() *Recorder {
	s.mu.Lock()
	defer s.mu.Unlock()
	defs := s.freezeLocked()
	r := &Recorder{
		kinds:  make([]kind, len(defs)),
		names:  make([]string, len(defs)),
		live:   make([]*hdrhistogram.Histogram, len(defs)),
		below:  make([]int64, len(defs)),
		above:  make([]int64, len(defs)),
		counts: make([]atomic.Int64, len(defs)),
		spare:  make([]*hdrhistogram.Histogram, len(defs)),
	}
	for i, d := range defs {
		r.kinds[i] = d.kind
		r.names[i] = d.name
	}
	s.recorders = append(s.recorders, r)
	return r
}

// newHistogram returns an empty histogram of the shared latency geometry.
func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(int64(LowestLatency), int64(HighestLatency), SignificantDigits)
}

// Record adds one latency of ns nanoseconds to latency metric id. Values
// below LowestLatency or above HighestLatency (negative ones included) are
// recorded at the nearest bound and counted as clamped. Record panics if id
// is not a latency metric of the recorder's set.
func (r *Recorder) Record(id ID, ns int64) {
	if int(id) >= len(r.kinds) {
		r.unknown(id)
	}
	r.mu.Lock()
	h := r.live[id]
	if h == nil {
		h = r.firstHistogram(id)
	}
	if ns < int64(LowestLatency) {
		ns = int64(LowestLatency)
		r.below[id]++
	} else if ns > int64(HighestLatency) {
		ns = int64(HighestLatency)
		r.above[id]++
	}
	// The value is within the geometry, so RecordValue cannot fail.
	_ = h.RecordValue(ns)
	r.mu.Unlock()
}

// firstHistogram allocates the live histogram of id. Callers hold r.mu.
func (r *Recorder) firstHistogram(id ID) *hdrhistogram.Histogram {
	if r.kinds[id] != kindLatency {
		r.mu.Unlock()
		panic(fmt.Sprintf("metrics: Record on counter %q: use Add", r.names[id]))
	}
	h := newHistogram()
	r.live[id] = h
	return h
}

// Add adds n to counter id. Add panics if id is not a counter of the
// recorder's set.
func (r *Recorder) Add(id ID, n int64) {
	if int(id) >= len(r.kinds) {
		r.unknown(id)
	}
	if r.kinds[id] != kindCounter {
		panic(fmt.Sprintf("metrics: Add on latency %q: use Record", r.names[id]))
	}
	r.counts[id].Add(n)
}

// unknown panics about an ID that is not of the recorder's set.
func (r *Recorder) unknown(id ID) {
	panic(fmt.Sprintf("metrics: metric ID %d was not declared in this recorder's set (it has %d)", id, len(r.kinds)))
}

// swap exchanges the recorder's live histograms for its spares and takes its
// clamp counts, under the recorder's lock. taken receives the histograms
// that were live (nil where nothing was ever recorded); lows and highs
// receive the clamp counts. Only the Collector calls swap.
func (r *Recorder) swap(taken []*hdrhistogram.Histogram, lows, highs []int64) {
	r.mu.Lock()
	for id, h := range r.live {
		if h == nil {
			taken[id], lows[id], highs[id] = nil, 0, 0
			continue
		}
		taken[id] = h
		r.live[id] = r.spare[id]
		r.spare[id] = nil
		lows[id] = r.below[id]
		highs[id] = r.above[id]
		r.below[id] = 0
		r.above[id] = 0
	}
	r.mu.Unlock()
}
