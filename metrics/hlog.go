package metrics

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// WriteHlog writes the report's intervals as an HdrHistogram interval log
// (.hlog, format 1.3): one line per latency metric that recorded something
// in an interval, tagged with the metric's name, its histogram in the V2
// compressed encoding. HdrHistogram's log tools (HistogramLogProcessor,
// the hdrhistogram-go reader) read it. Timestamps are seconds from the
// run's start, which the log records as its StartTime and BaseTime; values
// are nanoseconds, so the "Interval_Max" column, which the format keeps in
// milliseconds, is the maximum in ms.
func WriteHlog(w io.Writer, r *Report) error {
	lw := hdrhistogram.NewHistogramLogWriter(w)
	startMs := r.Start.UnixMilli()
	lw.SetBaseTime(startMs)
	for _, step := range []func() error{
		lw.OutputLogFormatVersion,
		func() error {
			return lw.OutputComment("[shadowload latencies in nanoseconds, one histogram per metric per interval, tagged with the metric]")
		},
		func() error { return lw.OutputStartTime(startMs) },
		func() error { return lw.OutputBaseTime(startMs) },
		lw.OutputLegend,
	} {
		if err := step(); err != nil {
			return fmt.Errorf("write hlog: %w", err)
		}
	}
	for _, iv := range r.Intervals {
		for _, name := range slices.Sorted(maps.Keys(iv.Latencies)) {
			h, err := iv.Histogram(name)
			if err != nil {
				return fmt.Errorf("write hlog: %w", err)
			}
			h.SetTag(name)
			h.SetStartTimeMs(iv.At.Add(-iv.Elapsed).UnixMilli())
			h.SetEndTimeMs(iv.At.UnixMilli())
			if err := lw.OutputIntervalHistogram(h); err != nil {
				return fmt.Errorf("write hlog: %s: %w", name, err)
			}
		}
	}
	return nil
}
