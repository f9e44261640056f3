package metrics

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Merge combines the reports of the shards of one fleet, run side by side,
// into one report. Counters add up and latency histograms are decoded and
// merged, so the result equals recording every value into one report.
//
//   - Start is the earliest start; Duration is the longest, since shards
//     run their schedules side by side (aligned by "run --start-at").
//   - Intervals are merged by wall time, on a grid of whole seconds from the
//     earliest interval's end: an interval joins the line of the first grid
//     second at or after its end less alignJitter, so ticks that fired a
//     little late join their second and a run's last, partial interval
//     joins the next. Counters add up, gauges add up over the reports (each
//     report's latest level in the line), and latency histograms merge
//     exactly; an interval that kept only a summary (no histogram) merges
//     with exact count, min, max and mean and the largest of the
//     percentiles, an upper bound.
//   - Config and Phases are the first shard's that has them; Errors keeps
//     the first shard's message of each kind and Aborted the first shard's,
//     prefixed with the shard; Invalid keeps every shard's reasons,
//     prefixed with the shard; Thresholds and Verdict are dropped, to be
//     evaluated again on the merged report.
//   - Generator adds CPU seconds and cores, and keeps the worst utilization
//     and the worst scheduler lag figures.
//
// Merge fails if the reports disagree on schema, bases or planned counts, a
// histogram does not decode or does not fit the latency range, or reports
// of a sharded run are not exactly its shards 0 to N-1, each once.
func Merge(reports ...*Report) (*Report, error) {
	if len(reports) == 0 {
		return nil, errors.New("merge reports: want at least one report")
	}
	if err := checkShards(reports); err != nil {
		return nil, err
	}
	out := &Report{
		Schema:    Schema,
		Counters:  make(map[string]int64),
		Latencies: make(map[string]LatencyReport),
		Merged:    len(reports),
	}
	hists := make(map[string]*hdrhistogram.Histogram)
	for i, r := range reports {
		if r.Schema != Schema {
			return nil, fmt.Errorf("merge reports: report %d: schema %q: want %q", i, r.Schema, Schema)
		}
		if out.Start.IsZero() || r.Start.Before(out.Start) {
			out.Start = r.Start
		}
		out.Duration = max(out.Duration, r.Duration)
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
				out.Errors[kind] = fmt.Sprintf("%s: %s", shardName(r, i), msg)
			}
		}
		if out.Phases == nil {
			out.Phases = slices.Clone(r.Phases)
		}
		if r.Aborted != "" && out.Aborted == "" {
			out.Aborted = fmt.Sprintf("%s: %s", shardName(r, i), r.Aborted)
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
			out.Invalid = append(out.Invalid, fmt.Sprintf("%s: %s", shardName(r, i), reason))
		}
		out.Generator = mergeGenerator(out.Generator, r.Generator)
	}
	ivs, err := mergeIntervals(reports)
	if err != nil {
		return nil, err
	}
	out.Intervals = ivs
	for name, h := range hists {
		lr, err := latencyReport(h, out.Latencies[name].BelowRange, out.Latencies[name].AboveRange)
		if err != nil {
			return nil, fmt.Errorf("merge reports: latency %q: %w", name, err)
		}
		out.Latencies[name] = lr
	}
	return out, nil
}

// checkShards checks that reports of a sharded run are exactly its shards
// 0 to N-1, each once. Reports of whole runs merge as they are.
func checkShards(reports []*Report) error {
	var count int
	seen := map[int]int{}
	for i, r := range reports {
		if r.Shard == nil {
			continue
		}
		if count == 0 {
			count = r.Shard.Count
		}
		switch {
		case r.Shard.Count != count:
			return fmt.Errorf("merge reports: report %d is shard %s, an earlier report is of a run in %d shards", i, r.Shard, count)
		case r.Shard.Index < 0 || r.Shard.Index >= r.Shard.Count:
			return fmt.Errorf("merge reports: report %d: shard %s out of range", i, r.Shard)
		}
		if j, dup := seen[r.Shard.Index]; dup {
			return fmt.Errorf("merge reports: reports %d and %d are both shard %s", j, i, r.Shard)
		}
		seen[r.Shard.Index] = i
	}
	if count == 0 {
		return nil
	}
	if len(seen) != len(reports) {
		return fmt.Errorf("merge reports: %d reports are shards of a run and %d are not", len(seen), len(reports)-len(seen))
	}
	var missing []string
	for k := range count {
		if _, ok := seen[k]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", k, count))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("merge reports: shards %s missing: a merge of part of a fleet is not the fleet's result", strings.Join(missing, ", "))
	}
	return nil
}

// shardName names report i of a merge for its messages.
func shardName(r *Report, i int) string {
	if r.Shard != nil {
		return "shard " + r.Shard.String()
	}
	return fmt.Sprintf("report %d", i)
}

// alignJitter is how late an interval may end after its grid second and
// still belong to it: a timer's wake-up on a busy machine.
const alignJitter = 100 * time.Millisecond

// mergeIntervals lines the reports' intervals up by wall time and merges
// each line: see Merge.
func mergeIntervals(reports []*Report) ([]Interval, error) {
	var ref time.Time
	for _, r := range reports {
		for _, iv := range r.Intervals {
			if ref.IsZero() || iv.At.Before(ref) {
				ref = iv.At
			}
		}
	}
	type line struct {
		iv     Interval
		hists  map[string]*hdrhistogram.Histogram
		gauges map[int]map[string]float64 // per report: its latest levels
	}
	lines := map[int64]*line{}
	for i, r := range reports {
		for _, iv := range r.Intervals {
			key := int64(math.Ceil(float64(iv.At.Sub(ref)-alignJitter) / float64(time.Second)))
			l := lines[key]
			if l == nil {
				l = &line{iv: Interval{At: iv.At, Counters: make(map[string]int64)}, hists: map[string]*hdrhistogram.Histogram{}, gauges: map[int]map[string]float64{}}
				lines[key] = l
			}
			if len(iv.Gauges) > 0 {
				l.gauges[i] = iv.Gauges
			}
			dst := &l.iv
			if iv.At.After(dst.At) {
				dst.At = iv.At
			}
			dst.Elapsed = max(dst.Elapsed, iv.Elapsed)
			for name, n := range iv.Counters {
				dst.Counters[name] += n
			}
			for _, name := range slices.Sorted(maps.Keys(iv.Latencies)) {
				if dst.Latencies == nil {
					dst.Latencies = make(map[string]Summary)
				}
				dst.Latencies[name] = mergeSummary(dst.Latencies[name], iv.Latencies[name])
				if _, ok := iv.Histograms[name]; !ok {
					// A summary only: this line's percentiles stay bounds.
					l.hists[name] = nil
					continue
				}
				h, err := iv.Histogram(name)
				if err != nil {
					return nil, fmt.Errorf("merge reports: %s: %w", shardName(r, i), err)
				}
				acc, seen := l.hists[name]
				switch {
				case !seen:
					acc = newHistogram()
					l.hists[name] = acc
				case acc == nil:
					continue
				}
				if dropped := acc.Merge(h); dropped > 0 {
					return nil, fmt.Errorf("merge reports: %s: interval latency %q: %d values outside %v..%v", shardName(r, i), name, dropped, LowestLatency, HighestLatency)
				}
			}
		}
	}
	out := make([]Interval, 0, len(lines))
	for _, key := range slices.Sorted(maps.Keys(lines)) {
		l := lines[key]
		for _, g := range l.gauges {
			if l.iv.Gauges == nil {
				l.iv.Gauges = make(map[string]float64)
			}
			for name, v := range g {
				l.iv.Gauges[name] += v
			}
		}
		for name, h := range l.hists {
			if h == nil {
				continue
			}
			l.iv.Latencies[name] = summarize(h)
			enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
			if err != nil {
				return nil, fmt.Errorf("merge reports: interval latency %q: encode histogram: %w", name, err)
			}
			if l.iv.Histograms == nil {
				l.iv.Histograms = make(map[string]string)
			}
			l.iv.Histograms[name] = string(enc)
		}
		out = append(out, l.iv)
	}
	return out, nil
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
