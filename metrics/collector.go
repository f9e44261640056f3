package metrics

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Collector merges the data of every Recorder of a Set: Interval once a
// second, Final at the end. Each call swaps out what the recorders gathered
// since the previous call, so every value lands in exactly one interval and
// the intervals add up to the final totals. A Collector is safe for
// concurrent use; its calls are serialized.
type Collector struct {
	set *Set

	mu       sync.Mutex
	defs     []metricDef
	start    time.Time
	last     time.Time
	iv       []*hdrhistogram.Histogram // per latency metric: this interval
	total    []*hdrhistogram.Histogram // per latency metric: the run so far
	counters []int64                   // per counter: the run so far
	below    []int64                   // per latency metric: clamped up, run so far
	above    []int64                   // per latency metric: clamped down, run so far
	ivCounts []int64
	taken    []*hdrhistogram.Histogram
	lows     []int64
	highs    []int64
	history  []Interval
	gauges   map[string]float64
}

// Collector returns the set's Collector, creating it on the first call; the
// run's start time is the time of that first call. It freezes the set.
func (s *Set) Collector() *Collector {
	return s.collectorAt(time.Now())
}

// collectorAt is Collector with the start of the run given.
func (s *Set) collectorAt(start time.Time) *Collector {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.collector != nil {
		return s.collector
	}
	defs := s.freezeLocked()
	n := len(defs)
	c := &Collector{
		set:      s,
		defs:     defs,
		start:    start,
		last:     start,
		iv:       make([]*hdrhistogram.Histogram, n),
		total:    make([]*hdrhistogram.Histogram, n),
		counters: make([]int64, n),
		below:    make([]int64, n),
		above:    make([]int64, n),
		ivCounts: make([]int64, n),
		taken:    make([]*hdrhistogram.Histogram, n),
		lows:     make([]int64, n),
		highs:    make([]int64, n),
	}
	for i, d := range defs {
		if d.kind == kindLatency {
			c.iv[i] = newHistogram()
			c.total[i] = newHistogram()
		}
	}
	s.collector = c
	return c
}

// Start returns the start of the run: when the Collector was created.
func (c *Collector) Start() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.start
}

// Interval swaps out what every recorder gathered since the previous call,
// adds it to the run's totals and returns it. now is the end of the
// interval; Elapsed is measured from the previous call (or the start).
func (c *Collector) Interval(now time.Time) Interval {
	c.mu.Lock()
	defer c.mu.Unlock()
	iv := c.collectLocked(now)
	c.history = append(c.history, iv)
	return iv
}

// SetGauge sets the level of gauge name, such as the things connected now.
// Every interval from the next one on records the latest level of every
// gauge set so far.
func (c *Collector) SetGauge(name string, v float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gauges == nil {
		c.gauges = make(map[string]float64)
	}
	c.gauges[name] = v
}

// collectLocked gathers one interval. Callers hold c.mu.
func (c *Collector) collectLocked(now time.Time) Interval {
	c.set.mu.Lock()
	recorders := append([]*Recorder(nil), c.set.recorders...)
	c.set.mu.Unlock()

	for i := range c.ivCounts {
		c.ivCounts[i] = 0
	}
	for _, h := range c.iv {
		if h != nil && h.TotalCount() > 0 {
			h.Reset()
		}
	}
	for _, r := range recorders {
		r.swap(c.taken, c.lows, c.highs)
		for id, d := range c.defs {
			if d.kind == kindCounter {
				c.ivCounts[id] += r.counts[id].Swap(0)
				continue
			}
			h := c.taken[id]
			if h == nil {
				continue
			}
			c.below[id] += c.lows[id]
			c.above[id] += c.highs[id]
			if h.TotalCount() > 0 {
				// Same geometry on both sides: nothing can be dropped.
				c.iv[id].Merge(h)
				h.Reset()
			}
			r.spare[id] = h
			c.taken[id] = nil
		}
	}

	iv := Interval{
		At:       now,
		Elapsed:  now.Sub(c.last),
		Counters: make(map[string]int64),
	}
	c.last = now
	if len(c.gauges) > 0 {
		iv.Gauges = maps.Clone(c.gauges)
	}
	for id, d := range c.defs {
		switch d.kind {
		case kindCounter:
			c.counters[id] += c.ivCounts[id]
			iv.Counters[d.name] = c.ivCounts[id]
		case kindLatency:
			h := c.iv[id]
			if h.TotalCount() == 0 {
				continue
			}
			c.total[id].Merge(h)
			if iv.Latencies == nil {
				iv.Latencies = make(map[string]Summary)
				iv.Histograms = make(map[string]string)
			}
			iv.Latencies[d.name] = summarize(h)
			// Encoding a histogram of our own geometry into memory does
			// not fail; an interval without it merges as a summary.
			if enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
				iv.Histograms[d.name] = string(enc)
			}
		}
	}
	return iv
}

// Final gathers what the recorders hold now as a last interval (kept only
// if it recorded anything) and returns the run's Report, its duration
// running from the start to now. Recorders may keep recording; a later
// Interval or Final picks that up.
func (c *Collector) Final() *Report {
	return c.FinalAt(time.Now())
}

// FinalAt is Final with the end of the run given.
func (c *Collector) FinalAt(now time.Time) *Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	iv := c.collectLocked(now)
	if len(iv.Latencies) > 0 || anyNonZero(iv.Counters) {
		c.history = append(c.history, iv)
	}

	r := &Report{
		Schema:    Schema,
		Start:     c.start,
		Duration:  now.Sub(c.start),
		Counters:  make(map[string]int64),
		Latencies: make(map[string]LatencyReport),
		Bases:     c.set.bases(),
		Planned:   c.set.planned(),
		Intervals: append([]Interval(nil), c.history...),
	}
	for id, d := range c.defs {
		switch d.kind {
		case kindCounter:
			r.Counters[d.name] = c.counters[id]
		case kindLatency:
			lr, err := latencyReport(c.total[id], c.below[id], c.above[id])
			if err != nil {
				// Encoding a histogram of our own geometry into memory
				// does not fail; if it ever does, the report says so.
				r.Invalid = append(r.Invalid, "latency "+d.name+": "+err.Error())
			}
			r.Latencies[d.name] = lr
		}
	}
	return r
}

// Snapshot returns the run's totals as of the last Interval, as a Report
// without intervals, for judging a run while it goes on (thresholds that
// abort it). Only the latency metrics named are encoded, and every counter
// is included; the recorders are not touched.
func (c *Collector) Snapshot(latencies ...string) *Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &Report{
		Schema:    Schema,
		Start:     c.start,
		Duration:  c.last.Sub(c.start),
		Counters:  make(map[string]int64),
		Latencies: make(map[string]LatencyReport),
		Bases:     c.set.bases(),
		Planned:   c.set.planned(),
	}
	for id, d := range c.defs {
		switch {
		case d.kind == kindCounter:
			r.Counters[d.name] = c.counters[id]
		case slices.Contains(latencies, d.name):
			lr, err := latencyReport(c.total[id], c.below[id], c.above[id])
			if err != nil {
				r.Invalid = append(r.Invalid, "latency "+d.name+": "+err.Error())
			}
			r.Latencies[d.name] = lr
		}
	}
	return r
}

func anyNonZero(m map[string]int64) bool {
	for _, v := range m {
		if v != 0 {
			return true
		}
	}
	return false
}
