package metrics

import (
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"
)

// csvHeader names the columns WriteCSV writes.
var csvHeader = []string{"time", "elapsed_s", "metric", "kind", "count", "rate_per_s", "value", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"}

// WriteCSV writes the report's intervals as CSV in long form, one row per
// metric per interval, for spreadsheets and dataframes: the interval's end
// (RFC 3339, UTC) and its seconds from the run's start; then, for a
// counter that moved, its increment and rate per second; for a latency
// metric that recorded something, its count, rate and p50, p90, p99,
// p99.9 and max in milliseconds; for a gauge, its level in value.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	ms := func(ns float64) string { return strconv.FormatFloat(ns/1e6, 'f', 3, 64) }
	for _, iv := range r.Intervals {
		at := iv.At.UTC().Format(time.RFC3339Nano)
		el := strconv.FormatFloat(iv.At.Sub(r.Start).Seconds(), 'f', 3, 64)
		rate := func(n int64) string {
			if iv.Elapsed <= 0 {
				return ""
			}
			return strconv.FormatFloat(float64(n)/iv.Elapsed.Seconds(), 'f', 1, 64)
		}
		var rows [][]string
		for _, name := range slices.Sorted(maps.Keys(iv.Counters)) {
			if n := iv.Counters[name]; n != 0 {
				rows = append(rows, []string{at, el, name, "counter", strconv.FormatInt(n, 10), rate(n), "", "", "", "", "", ""})
			}
		}
		for _, name := range slices.Sorted(maps.Keys(iv.Latencies)) {
			s := iv.Latencies[name]
			rows = append(rows, []string{at, el, name, "latency", strconv.FormatInt(s.Count, 10), rate(s.Count), "",
				ms(s.P50), ms(s.P90), ms(s.P99), ms(s.P999), ms(s.Max)})
		}
		for _, name := range slices.Sorted(maps.Keys(iv.Gauges)) {
			rows = append(rows, []string{at, el, name, "gauge", "", "", f(iv.Gauges[name]), "", "", "", "", ""})
		}
		if err := cw.WriteAll(rows); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}
