package metrics

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Progress is what FormatProgress needs besides the interval. Its zero
// value reads the achieved rate from "update.sent", latencies from
// "update.accepted" and errors from "update.rejected" and "update.timeout".
type Progress struct {
	// Phase names the part of the run, such as "ramp" or "steady".
	Phase string
	// Elapsed is the time since the run started.
	Elapsed time.Duration
	// Connected of Things connections are up.
	Connected, Things int
	// TargetRate is the schedule's rate per second in this interval.
	TargetRate float64
	// Sent is the counter whose rate is the achieved rate.
	Sent string
	// Latency is the latency metric whose p50 and p99 are shown.
	Latency string
	// Errors are the counters added up as errors.
	Errors []string
}

// FormatProgress writes one line about the last interval for the runner to
// print once a second, such as
//
//	steady 01:05 connected 950/1000 rate 1000/s → 987/s p50 12.3ms p99 45.6ms errors 3
//
// A figure the interval cannot give (no values, no elapsed time) is "-".
func FormatProgress(iv Interval, p Progress) string {
	sent, lat, errs := p.Sent, p.Latency, p.Errors
	if sent == "" {
		sent = "update.sent"
	}
	if lat == "" {
		lat = "update.accepted"
	}
	if errs == nil {
		errs = []string{"update.rejected", "update.timeout"}
	}
	achieved := "-"
	if iv.Elapsed > 0 {
		achieved = formatRate(float64(iv.Counters[sent]) / iv.Elapsed.Seconds())
	}
	p50, p99 := "-", "-"
	if s, ok := iv.Latencies[lat]; ok && s.Count > 0 {
		p50, p99 = FormatLatency(s.P50), FormatLatency(s.P99)
	}
	var nerr int64
	for _, name := range errs {
		nerr += iv.Counters[name]
	}
	var b strings.Builder
	if p.Phase != "" {
		b.WriteString(p.Phase)
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "%s connected %d/%d rate %s/s → %s/s p50 %s p99 %s errors %d",
		formatElapsed(p.Elapsed), p.Connected, p.Things, formatRate(p.TargetRate), achieved, p50, p99, nerr)
	return b.String()
}

// formatRate writes a rate with one decimal below 100 and none above.
func formatRate(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return trimZeros(strconv.FormatFloat(v, 'f', 1, 64))
}

// formatElapsed writes d as mm:ss, or h:mm:ss from an hour on.
func formatElapsed(d time.Duration) string {
	s := int64(d / time.Second)
	if s < 0 {
		s = 0
	}
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}
