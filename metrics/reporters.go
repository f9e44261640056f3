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

// WriteSummary writes r for people: the run's start and duration, any
// reasons it is invalid, an aligned table of every metric that recorded
// something or has a threshold (count, rate per second over the run, and for
// latencies p50, p90, p99, p99.9 and max) with a count of those left out, values
// clamped into the latency range, the generator's health, and a PASS or FAIL
// line per threshold result.
func WriteSummary(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s, %v\n", r.Start.UTC().Format(time.RFC3339), r.Duration.Round(time.Millisecond))
	for _, reason := range r.Invalid {
		fmt.Fprintf(&b, "INVALID %s\n", reason)
	}
	b.WriteString("\n")

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tcount\trate/s\tp50\tp90\tp99\tp99.9\tmax")
	names := slices.Sorted(maps.Keys(r.Counters))
	names = append(names, slices.Collect(maps.Keys(r.Latencies))...)
	slices.Sort(names)
	gated := map[string]bool{}
	for _, t := range r.Thresholds {
		gated[t.Metric] = true
	}
	empty := 0
	for _, name := range slices.Compact(names) {
		lr, isLatency := r.Latencies[name]
		if (isLatency && lr.Count == 0 || !isLatency && r.Counters[name] == 0) && !gated[name] {
			empty++
			continue
		}
		if isLatency {
			fmt.Fprintf(tw, "%s\t%d\t%s", name, lr.Count, perSecond(lr.Count, r.Duration))
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
		n := r.Counters[name]
		fmt.Fprintf(tw, "%s\t%d\t%s\t\t\t\t\t\n", name, n, perSecond(n, r.Duration))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	if empty > 0 {
		fmt.Fprintf(&b, "(%d more metrics recorded nothing)\n", empty)
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
		b.WriteString("\nthresholds\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, t := range r.Thresholds {
			verdict := "FAIL"
			if t.Pass {
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
