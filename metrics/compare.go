package metrics

import (
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// CompareOptions configure Compare. The zero value gates a 10% regression
// of every statistic of the default metrics.
type CompareOptions struct {
	// MaxRegression is how much worse NEW may be than BASE, as a fraction
	// (0.1 for 10%): a latency statistic that grew by more, or a rate that
	// fell by more, regressed. Default 0.1.
	MaxRegression float64
	// MinLatencyChange is the smallest latency change that can count as a
	// regression, whatever its share: p99.9 going from 0.8ms to 1.3ms on a
	// loopback run is noise, not a finding. Default 1ms.
	MinLatencyChange time.Duration
	// Metrics are the latency metrics compared, as names or path.Match
	// patterns such as "fanout.*". Default: every whole-run metric named
	// OP.accepted, delta and fanout.GROUP that recorded something in BASE.
	Metrics []string
	// Stats are the statistics that gate, of "rate", "p50", "p99" and
	// "p99.9"; default all four. Every statistic is shown either way.
	Stats []string
}

// Comparison is the change from BASE to NEW, one row per metric and
// statistic.
type Comparison struct {
	Rows []CompareRow
	// Regressed says some gating row regressed beyond the bound.
	Regressed bool
	opts      CompareOptions
}

// CompareRow is one statistic of one metric in both reports. Latencies are
// nanoseconds, rates values per second.
type CompareRow struct {
	Metric, Stat string
	Base, New    float64
	// Change is (New-Base)/Base; +0.25 is 25% more.
	Change float64
	// Gates says the row can fail the comparison; Regressed that it did.
	Gates, Regressed bool
	// Missing says NEW did not record the metric at all.
	Missing bool
}

// compareStats are the statistics Compare shows, in order.
var compareStats = []string{"rate", "p50", "p99", "p99.9"}

// Compare compares NEW against BASE for each metric of o.Metrics that
// BASE recorded: its rate (count per second of the run) and its p50, p99
// and p99.9. A rate that fell by more than MaxRegression, or a latency
// statistic that rose by more than MaxRegression and by at least
// MinLatencyChange, regressed; so did a metric NEW did not record at all.
func Compare(base, next *Report, o CompareOptions) (Comparison, error) {
	if o.MaxRegression <= 0 {
		o.MaxRegression = 0.1
	}
	if o.MinLatencyChange <= 0 {
		o.MinLatencyChange = time.Millisecond
	}
	if len(o.Stats) == 0 {
		o.Stats = compareStats
	}
	for _, s := range o.Stats {
		if !slices.Contains(compareStats, s) {
			return Comparison{}, fmt.Errorf("compare: statistic %q: want one of %s", s, strings.Join(compareStats, ", "))
		}
	}
	for _, m := range o.Metrics {
		if _, err := path.Match(m, ""); err != nil {
			return Comparison{}, fmt.Errorf("compare: metric pattern %q: %w", m, err)
		}
	}
	c := Comparison{opts: o}
	for _, name := range slices.Sorted(maps.Keys(base.Latencies)) {
		lb := base.Latencies[name]
		if lb.Count == 0 || !compared(name, o.Metrics) {
			continue
		}
		ln, ok := next.Latencies[name]
		for _, stat := range compareStats {
			row := CompareRow{Metric: name, Stat: stat, Gates: slices.Contains(o.Stats, stat), Missing: !ok || ln.Count == 0}
			switch stat {
			case "rate":
				row.Base, row.New = perSec(lb.Count, base.Duration), perSec(ln.Count, next.Duration)
			case "p50":
				row.Base, row.New = lb.P50, ln.P50
			case "p99":
				row.Base, row.New = lb.P99, ln.P99
			default:
				row.Base, row.New = lb.P999, ln.P999
			}
			if row.Base != 0 {
				row.Change = (row.New - row.Base) / row.Base
			}
			switch {
			case row.Missing:
				row.Regressed = row.Gates
			case stat == "rate":
				row.Regressed = row.Gates && row.Change < -o.MaxRegression
			default:
				row.Regressed = row.Gates && row.Change > o.MaxRegression && row.New-row.Base >= float64(o.MinLatencyChange)
			}
			c.Regressed = c.Regressed || row.Regressed
			c.Rows = append(c.Rows, row)
		}
	}
	if len(c.Rows) == 0 {
		return c, fmt.Errorf("compare: BASE recorded none of the metrics compared (%s)", strings.Join(orDefault(o.Metrics), ", "))
	}
	return c, nil
}

// compared reports whether metric name is one of patterns, or of the
// default metrics when there are none.
func compared(name string, patterns []string) bool {
	if _, _, scoped := SplitScope(name); scoped {
		return slices.Contains(patterns, name)
	}
	for _, p := range orDefault(patterns) {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// orDefault is patterns, or the default metrics when there are none.
func orDefault(patterns []string) []string {
	if len(patterns) > 0 {
		return patterns
	}
	return []string{"*.accepted", "delta", "fanout.*"}
}

func perSec(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Write writes the comparison as a short aligned table for a CI log, each
// regressed row marked, then the verdict.
func (c Comparison) Write(w io.Writer) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tstat\tbase\tnew\tchange\t")
	for _, r := range c.Rows {
		val := FormatLatency
		if r.Stat == "rate" {
			val = func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "/s" }
		}
		change := fmt.Sprintf("%+.1f%%", r.Change*100)
		mark := ""
		switch {
		case r.Missing:
			change, mark = "-", "MISSING"
		case r.Regressed:
			mark = "REGRESSED"
		case !r.Gates:
			mark = "(not gated)"
		}
		newv := val(r.New)
		if r.Missing {
			newv = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Metric, r.Stat, val(r.Base), newv, change, mark)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	if _, err := io.WriteString(w, strings.Join(lines, "\n")); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	verdict := fmt.Sprintf("no regression beyond %s (latency changes under %v ignored)", formatPercent(c.opts.MaxRegression), c.opts.MinLatencyChange)
	if c.Regressed {
		verdict = fmt.Sprintf("REGRESSION: NEW is worse than BASE by more than %s", formatPercent(c.opts.MaxRegression))
	}
	if _, err := fmt.Fprintln(w, verdict); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}
