package metrics

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Merge combines the reports of the shards of one fleet, run side by side,
// into one report. Run-wide figures are exact: counters add up and latency
// histograms are decoded and merged, so the result equals recording every
// value into one report.
//
//   - Start is the earliest start and Duration runs to the latest end.
//   - Intervals are merged by position (second i of each shard): counters
//     add up, and Count, Min, Max and Mean are exact, but the interval
//     percentiles are the largest of the shards' (an upper bound: the shards'
//     per-interval histograms are not kept).
//   - Config and Phases are the first shard's that has them; Errors keeps
//     the first shard's message of each kind and Aborted the first shard's,
//     prefixed with the shard's position; Invalid keeps every shard's
//     reasons, prefixed with the shard's position; Thresholds are dropped, to
//     be evaluated again on the merged report.
//   - Generator adds CPU seconds and cores, and keeps the worst utilization
//     and the worst scheduler lag figures.
//
// Merge fails if the reports disagree on schema or bases, or a histogram
// does not decode or does not fit the latency range.
func Merge(reports ...*Report) (*Report, error) {
	if len(reports) == 0 {
		return nil, errors.New("merge reports: want at least one report")
	}
	out := &Report{
		Schema:    Schema,
		Counters:  make(map[string]int64),
		Latencies: make(map[string]LatencyReport),
	}
	var end time.Time
	hists := make(map[string]*hdrhistogram.Histogram)
	for i, r := range reports {
		if r.Schema != Schema {
			return nil, fmt.Errorf("merge reports: report %d: schema %q: want %q", i, r.Schema, Schema)
		}
		if out.Start.IsZero() || r.Start.Before(out.Start) {
			out.Start = r.Start
		}
		if e := r.Start.Add(r.Duration); e.After(end) {
			end = e
		}
		if out.Config == nil && len(r.Config) > 0 {
			out.Config = slices.Clone(r.Config)
		}
		for name, n := range r.Counters {
			out.Counters[name] += n
		}
		for name, planned := range r.Planned {
			if prev, ok := out.Planned[name]; ok && prev != planned {
				return nil, fmt.Errorf("merge reports: report %d: %s is planned by %q, an earlier report says %q", i, name, planned, prev)
			}
			if out.Planned == nil {
				out.Planned = make(map[string]string)
			}
			out.Planned[name] = planned
		}
		for kind, msg := range r.Errors {
			if _, ok := out.Errors[kind]; !ok {
				if out.Errors == nil {
					out.Errors = make(map[string]string)
				}
				out.Errors[kind] = fmt.Sprintf("shard %d: %s", i, msg)
			}
		}
		if out.Phases == nil {
			out.Phases = slices.Clone(r.Phases)
		}
		if r.Aborted != "" && out.Aborted == "" {
			out.Aborted = fmt.Sprintf("shard %d: %s", i, r.Aborted)
		}
		for name, base := range r.Bases {
			if prev, ok := out.Bases[name]; ok && prev != base {
				return nil, fmt.Errorf("merge reports: report %d: %s has base %q, an earlier report says %q", i, name, base, prev)
			}
			if out.Bases == nil {
				out.Bases = make(map[string]string)
			}
			out.Bases[name] = base
		}
		for _, name := range slices.Sorted(maps.Keys(r.Latencies)) {
			h, err := r.Histogram(name)
			if err != nil {
				return nil, fmt.Errorf("merge reports: report %d: %w", i, err)
			}
			dst := hists[name]
			if dst == nil {
				dst = newHistogram()
				hists[name] = dst
			}
			if dropped := dst.Merge(h); dropped > 0 {
				return nil, fmt.Errorf("merge reports: report %d: latency %q: %d values outside %v..%v", i, name, dropped, LowestLatency, HighestLatency)
			}
			lr := out.Latencies[name]
			lr.BelowRange += r.Latencies[name].BelowRange
			lr.AboveRange += r.Latencies[name].AboveRange
			out.Latencies[name] = lr
		}
		for _, reason := range r.Invalid {
			out.Invalid = append(out.Invalid, fmt.Sprintf("shard %d: %s", i, reason))
		}
		out.Generator = mergeGenerator(out.Generator, r.Generator)
		for j, iv := range r.Intervals {
			if j == len(out.Intervals) {
				out.Intervals = append(out.Intervals, Interval{At: iv.At, Counters: make(map[string]int64)})
			}
			mergeInterval(&out.Intervals[j], iv)
		}
	}
	out.Duration = end.Sub(out.Start)
	for name, h := range hists {
		lr, err := latencyReport(h, out.Latencies[name].BelowRange, out.Latencies[name].AboveRange)
		if err != nil {
			return nil, fmt.Errorf("merge reports: latency %q: %w", name, err)
		}
		out.Latencies[name] = lr
	}
	return out, nil
}

// mergeInterval adds iv to dst: counters exactly, latency summaries with
// exact count, min, max and mean and upper-bound percentiles.
func mergeInterval(dst *Interval, iv Interval) {
	if iv.At.After(dst.At) {
		dst.At = iv.At
	}
	dst.Elapsed = max(dst.Elapsed, iv.Elapsed)
	for name, n := range iv.Counters {
		dst.Counters[name] += n
	}
	for name, s := range iv.Latencies {
		if dst.Latencies == nil {
			dst.Latencies = make(map[string]Summary)
		}
		dst.Latencies[name] = mergeSummary(dst.Latencies[name], s)
	}
}

// mergeSummary combines two summaries of disjoint samples. Percentiles are
// the larger of the two: no smaller value is known to hold.
func mergeSummary(a, b Summary) Summary {
	switch {
	case a.Count == 0:
		return b
	case b.Count == 0:
		return a
	}
	n := a.Count + b.Count
	return Summary{
		Count: n,
		Min:   min(a.Min, b.Min),
		Mean:  (a.Mean*float64(a.Count) + b.Mean*float64(b.Count)) / float64(n),
		P50:   max(a.P50, b.P50),
		P90:   max(a.P90, b.P90),
		P99:   max(a.P99, b.P99),
		P999:  max(a.P999, b.P999),
		Max:   max(a.Max, b.Max),
	}
}

// mergeGenerator combines the generator health of two shards.
func mergeGenerator(a, b *Generator) *Generator {
	switch {
	case b == nil:
		return a
	case a == nil:
		g := *b
		return &g
	}
	return &Generator{
		CPUSeconds:  a.CPUSeconds + b.CPUSeconds,
		Cores:       a.Cores + b.Cores,
		Utilization: max(a.Utilization, b.Utilization),
		SchedulerLag: Summary{
			Count: a.SchedulerLag.Count + b.SchedulerLag.Count,
			Min:   max(a.SchedulerLag.Min, b.SchedulerLag.Min),
			Mean:  max(a.SchedulerLag.Mean, b.SchedulerLag.Mean),
			P50:   max(a.SchedulerLag.P50, b.SchedulerLag.P50),
			P90:   max(a.SchedulerLag.P90, b.SchedulerLag.P90),
			P99:   max(a.SchedulerLag.P99, b.SchedulerLag.P99),
			P999:  max(a.SchedulerLag.P999, b.SchedulerLag.P999),
			Max:   max(a.SchedulerLag.Max, b.SchedulerLag.Max),
		},
	}
}
