package metrics

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Summary is the shape of one latency distribution, in nanoseconds. The
// values are those of the HDR histogram: each is exact to
// SignificantDigits significant digits.
type Summary struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// summarize returns the Summary of h; the zero Summary when h is empty.
func summarize(h *hdrhistogram.Histogram) Summary {
	if h.TotalCount() == 0 {
		return Summary{}
	}
	return Summary{
		Count: h.TotalCount(),
		Min:   float64(h.Min()),
		Mean:  h.Mean(),
		P50:   float64(h.ValueAtQuantile(50)),
		P90:   float64(h.ValueAtQuantile(90)),
		P99:   float64(h.ValueAtQuantile(99)),
		P999:  float64(h.ValueAtQuantile(99.9)),
		Max:   float64(h.Max()),
	}
}

// Interval is what the run measured during one collection interval: the
// counters' increments and the latencies recorded since the previous
// interval. Latencies holds only metrics with at least one value in the
// interval; Counters holds every declared counter.
type Interval struct {
	At        time.Time          `json:"at"`
	Elapsed   time.Duration      `json:"elapsed_ns"`
	Counters  map[string]int64   `json:"counters"`
	Latencies map[string]Summary `json:"latencies,omitempty"`
}
