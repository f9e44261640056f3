package metrics

import (
	"fmt"
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
	// At is the end of the interval, on the wall clock; the interval began
	// Elapsed before it.
	At        time.Time          `json:"at"`
	Elapsed   time.Duration      `json:"elapsed_ns"`
	Counters  map[string]int64   `json:"counters"`
	Latencies map[string]Summary `json:"latencies,omitempty"`
	// Histograms holds the histogram of every metric in Latencies
	// (HdrHistogram V2 compressed, base64), so that any window of a run,
	// and the intervals of shards, can be merged exactly.
	Histograms map[string]string `json:"histograms,omitempty"`
	// Gauges are levels sampled at At, such as the things connected.
	Gauges map[string]float64 `json:"gauges,omitempty"`
}

// Histogram decodes the interval's histogram of latency metric name; a
// metric that recorded nothing in the interval decodes as an empty
// histogram. An interval that kept a summary but no histogram (a report
// written before intervals kept them) is an error.
func (iv *Interval) Histogram(name string) (*hdrhistogram.Histogram, error) {
	enc, ok := iv.Histograms[name]
	if !ok {
		if iv.Latencies[name].Count > 0 {
			return nil, fmt.Errorf("interval at %s: latency %q: no histogram kept", iv.At.UTC().Format(time.RFC3339), name)
		}
		return newHistogram(), nil
	}
	h, err := hdrhistogram.Decode([]byte(enc))
	if err != nil {
		return nil, fmt.Errorf("interval at %s: latency %q: decode histogram: %w", iv.At.UTC().Format(time.RFC3339), name, err)
	}
	return h, nil
}
