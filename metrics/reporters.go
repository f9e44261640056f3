package metrics

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Reporter writes one view of a report: the summary, JSON, HTML, .hgrm,
// .hlog, JUnit XML or CSV. A new output format is a new Reporter; nothing
// else changes.
type Reporter func(io.Writer) error

// WriteSummary writes r for people: the run's start and duration, any
// reasons it is invalid, an aligned table of every whole-run metric that
// recorded something or has a threshold (count, rate per second over the
// run, and for latencies p50, p90, p99, p99.9 and max) with a count of those
// left out, the same table per phase for the metrics scoped to it (when the
// run has several phases or a threshold names a scoped metric), the first
// error of each kind, values clamped into the latency range, the generator's
// health, and a PASS or FAIL line per threshold result — or, for an invalid
// run, the thresholds' values without a verdict.
func WriteSummary(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s, %v", r.Start.UTC().Format(time.RFC3339), r.Duration.Round(time.Millisecond))
	switch {
	case r.Shard != nil:
		fmt.Fprintf(&b, ", shard %s (its slice of the fleet; \"shadowload merge\" gives the fleet's result)", r.Shard)
	case r.Merged > 1:
		fmt.Fprintf(&b, ", merged from %d reports", r.Merged)
	}
	b.WriteString("\n")
	for _, reason := range r.Invalid {
		fmt.Fprintf(&b, "INVALID %s\n", reason)
	}
	if r.Aborted != "" {
		fmt.Fprintf(&b, "ABORTED %s\n", r.Aborted)
	}
	b.WriteString("\n")

	gated := map[string]bool{}
	for _, t := range r.Thresholds {
		gated[t.Metric] = true
	}
	names := slices.Sorted(maps.Keys(r.Counters))
	names = append(names, slices.Collect(maps.Keys(r.Latencies))...)
	slices.Sort(names)
	names = slices.Compact(names)
	scoped := map[string][]string{}
	var whole []string
	for _, name := range names {
		if metric, phase, ok := SplitScope(name); ok {
			scoped[phase] = append(scoped[phase], metric)
			continue
		}
		whole = append(whole, name)
	}
	empty, err := writeMetricTable(&b, r, whole, "", gated)
	if err != nil {
		return err
	}
	if empty > 0 {
		fmt.Fprintf(&b, "(%d more metrics recorded nothing)\n", empty)
	}
	for _, ph := range r.Phases {
		if len(scoped[ph.Name]) == 0 || len(r.Phases) == 1 && !anyGated(gated, scoped[ph.Name], ph.Name) {
			// One phase's table would repeat the whole run's.
			continue
		}
		rate := formatRate(ph.From) + "/s"
		if ph.From != ph.To {
			rate += "→" + formatRate(ph.To) + "/s"
		}
		fmt.Fprintf(&b, "\nphase %s: %v from %v, %s\n", ph.Name, ph.Duration.Round(time.Millisecond), ph.Start.Round(time.Millisecond), rate)
		if _, err := writeMetricTable(&b, r, scoped[ph.Name], ph.Name, gated); err != nil {
			return err
		}
	}

	if len(r.Errors) > 0 {
		b.WriteString("\n")
		for _, kind := range slices.Sorted(maps.Keys(r.Errors)) {
			fmt.Fprintf(&b, "first %s: %s\n", kind, r.Errors[kind])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Latencies)) {
		if lr := r.Latencies[name]; lr.BelowRange > 0 || lr.AboveRange > 0 {
			fmt.Fprintf(&b, "clamped %s: %d below %v, %d above %v\n", name, lr.BelowRange, LowestLatency, lr.AboveRange, HighestLatency)
		}
	}
	if g := r.Generator; g != nil {
		fmt.Fprintf(&b, "\ngenerator: cpu %.1fs on %d cores (%.0f%%), scheduler lag p99 %s max %s",
			g.CPUSeconds, g.Cores, g.Utilization*100, FormatLatency(g.SchedulerLag.P99), FormatLatency(g.SchedulerLag.Max))
		if g.MemoryPerThing > 0 {
			fmt.Fprintf(&b, ", memory %.1f KiB per thing", g.MemoryPerThing/1024)
		}
		b.WriteString("\n")
	}
	if len(r.Thresholds) > 0 {
		if len(r.Invalid) > 0 {
			b.WriteString("\nthresholds (not judged: the run is invalid)\n")
		} else {
			b.WriteString("\nthresholds\n")
		}
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, t := range r.Thresholds {
			verdict := "FAIL"
			switch {
			case len(r.Invalid) > 0:
				verdict = "-"
			case t.Pass:
				verdict = "PASS"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", verdict, t.Metric, t.Expr, t.Actual)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write summary: %w", err)
		}
	}
	// tabwriter pads the empty latency cells of counter rows with spaces.
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	if _, err := io.WriteString(w, strings.Join(lines, "\n")); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// anyGated reports whether a threshold names one of the metrics scoped to
// phase.
func anyGated(gated map[string]bool, metrics []string, phase string) bool {
	for _, m := range metrics {
		if gated[Scoped(m, phase)] {
			return true
		}
	}
	return false
}

// writeMetricTable writes the table of the named metrics that recorded
// something or carry a threshold, and returns how many it left out. With a
// phase, names are the metrics scoped to it, shown without the scope and
// measured over the phase's duration.
func writeMetricTable(b *strings.Builder, r *Report, names []string, phase string, gated map[string]bool) (int, error) {
	d := r.Duration
	full := func(name string) string { return name }
	if phase != "" {
		full = func(name string) string { return Scoped(name, phase) }
		for _, ph := range r.Phases {
			if ph.Name == phase {
				d = ph.Duration
			}
		}
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tcount\trate/s\tp50\tp90\tp99\tp99.9\tmax")
	empty := 0
	for _, name := range names {
		key := full(name)
		lr, isLatency := r.Latencies[key]
		if (isLatency && lr.Count == 0 || !isLatency && r.Counters[key] == 0) && !gated[key] {
			empty++
			continue
		}
		if isLatency {
			fmt.Fprintf(tw, "%s\t%d\t%s", name, lr.Count, perSecond(lr.Count, d))
			for _, v := range []float64{lr.P50, lr.P90, lr.P99, lr.P999, lr.Max} {
				if lr.Count == 0 {
					fmt.Fprint(tw, "\t-")
				} else {
					fmt.Fprint(tw, "\t"+FormatLatency(v))
				}
			}
			fmt.Fprintln(tw)
			continue
		}
		n := r.Counters[key]
		fmt.Fprintf(tw, "%s\t%d\t%s\t\t\t\t\t\n", name, n, perSecond(n, d))
	}
	if err := tw.Flush(); err != nil {
		return 0, fmt.Errorf("write summary: %w", err)
	}
	return empty, nil
}

// perSecond writes n over d as a rate per second, or "-" for no duration.
func perSecond(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(n)/d.Seconds(), 'f', 1, 64)
}

// WriteHgrm writes latency metric name of r as the classic HdrHistogram
// percentile distribution (.hgrm), values in milliseconds, five ticks per
// half distance, as HdrHistogram's plotter expects.
func WriteHgrm(w io.Writer, r *Report, name string) error {
	h, err := r.Histogram(name)
	if err != nil {
		return fmt.Errorf("write hgrm: %w", err)
	}
	if _, err := h.PercentilesPrint(w, 5, float64(time.Millisecond)); err != nil {
		return fmt.Errorf("write hgrm %q: %w", name, err)
	}
	return nil
}
