package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Schema identifies the version of the Report JSON document.
const Schema = "shadowload.report/v1"

// Report is the versioned JSON document of a run (`--out report.json`). The
// collector fills the measured parts; the caller sets Config, Invalid and
// Generator, and Evaluate fills Thresholds. Latency values are nanoseconds.
type Report struct {
	Schema string `json:"schema"`
	// Config is the run's configuration, as the caller chooses to record it.
	Config   json.RawMessage  `json:"config,omitempty"`
	Start    time.Time        `json:"start"`
	Duration time.Duration    `json:"duration_ns"`
	Counters map[string]int64 `json:"counters"`
	// Latencies holds every declared latency metric, recorded or not.
	Latencies map[string]LatencyReport `json:"latencies"`
	// Bases maps a metric to the metric its "rate<N%" thresholds divide by.
	Bases map[string]string `json:"bases,omitempty"`
	// Planned maps a metric to the counter of what the schedule asked for,
	// which its "achieved>=N%" thresholds divide by.
	Planned map[string]string `json:"planned,omitempty"`
	// Phases are the phases of the schedule, in order; metrics scoped to
	// one (see Scoped) hold what its requests recorded.
	Phases []PhaseReport `json:"phases,omitempty"`
	// Errors holds the first error of each kind in full, keyed by the
	// counter that counts them all, such as connect.failed.tls.
	Errors     map[string]string `json:"errors,omitempty"`
	Intervals  []Interval        `json:"intervals,omitempty"`
	Thresholds []ThresholdResult `json:"thresholds,omitempty"`
	// Aborted names the threshold that stopped the run early, when one did.
	Aborted string `json:"aborted,omitempty"`
	// Verdict is the run's outcome, as its exit code says it: "pass" (0),
	// "fail" (1, a threshold failed or aborted the run) or "invalid" (3).
	// A Threshold's Pass counts only when the verdict is not "invalid".
	Verdict string `json:"verdict,omitempty"`
	// Invalid lists the reasons the run cannot be trusted; empty means none.
	// Thresholds do not judge an invalid run.
	Invalid   []string   `json:"invalid,omitempty"`
	Generator *Generator `json:"generator,omitempty"`
	// Shard says which slice of a sharded run this report holds; nil for
	// a whole run, and for the merge of every shard.
	Shard *Shard `json:"shard,omitempty"`
	// Merged counts the reports Merge combined into this one; 0 for a
	// report of one process.
	Merged int `json:"merged,omitempty"`
}

// Shard is one slice of a run split across processes: Index of Count,
// from 0. Shard i runs the things whose fleet index is i modulo Count,
// each with the slots the whole run's schedule gives it.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// String writes the shard as "i/N".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// PhaseReport is one phase of the schedule as it ran.
type PhaseReport struct {
	Name string `json:"name"`
	// Start is when the phase began, from the start of the schedule.
	Start time.Duration `json:"start_ns"`
	// Duration is how long the phase ran: its planned length, or less when
	// the run stopped inside it.
	Duration time.Duration `json:"duration_ns"`
	// From and To are its scheduled rates, requests per second.
	From float64 `json:"from"`
	To   float64 `json:"to"`
}

// LatencyReport is one latency metric over the whole run: its summary, the
// full histogram (HdrHistogram V2 compressed, base64) and how many values
// were clamped into the histogram's range.
type LatencyReport struct {
	Summary
	Histogram string `json:"histogram"`
	// BelowRange counts values recorded at LowestLatency because they were
	// smaller; AboveRange those recorded at HighestLatency because larger.
	BelowRange int64 `json:"below_range,omitempty"`
	AboveRange int64 `json:"above_range,omitempty"`
}

// Generator is the load generator's own health during the run, reported
// apart from the target's latency so a generator that could not keep up is
// visible. The caller fills it.
type Generator struct {
	// CPUSeconds is the CPU time the generator process used.
	CPUSeconds float64 `json:"cpu_seconds"`
	// Cores is the number of cores the generator could use (GOMAXPROCS).
	Cores int `json:"cores"`
	// Utilization is CPUSeconds / (Duration × Cores), 0 to 1.
	Utilization float64 `json:"utilization"`
	// SchedulerLag is how late sends started against their intended times.
	SchedulerLag Summary `json:"scheduler_lag"`
	// MemoryPerThing is the live heap and goroutine stack the generator
	// grew by per connected thing while its fleet connected, in bytes.
	MemoryPerThing float64 `json:"memory_per_thing,omitempty"`
}

// latencyReport encodes h with its clamp counts.
func latencyReport(h *hdrhistogram.Histogram, below, above int64) (LatencyReport, error) {
	lr := LatencyReport{Summary: summarize(h), BelowRange: below, AboveRange: above}
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return lr, fmt.Errorf("encode histogram: %w", err)
	}
	lr.Histogram = string(enc)
	return lr, nil
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// ReadReport reads a Report written by WriteJSON. It checks the schema and
// that every latency histogram decodes and holds as many values as its
// summary says.
func ReadReport(rd io.Reader) (*Report, error) {
	var r Report
	dec := json.NewDecoder(rd)
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("read report: schema %q: want %q", r.Schema, Schema)
	}
	for _, name := range slices.Sorted(maps.Keys(r.Latencies)) {
		h, err := r.Histogram(name)
		if err != nil {
			return nil, fmt.Errorf("read report: %w", err)
		}
		if got, want := h.TotalCount(), r.Latencies[name].Count; got != want {
			return nil, fmt.Errorf("read report: latency %q: histogram holds %d values, summary says %d", name, got, want)
		}
	}
	return &r, nil
}

// Histogram decodes the histogram of latency metric name. A metric whose
// histogram is empty in the report decodes as an empty histogram.
func (r *Report) Histogram(name string) (*hdrhistogram.Histogram, error) {
	lr, ok := r.Latencies[name]
	if !ok {
		return nil, fmt.Errorf("latency %q: not in the report (have %v)", name, slices.Sorted(maps.Keys(r.Latencies)))
	}
	if lr.Histogram == "" {
		return newHistogram(), nil
	}
	h, err := hdrhistogram.Decode([]byte(lr.Histogram))
	if err != nil {
		return nil, fmt.Errorf("latency %q: decode histogram (want HdrHistogram V2 compressed base64): %w", name, err)
	}
	return h, nil
}
