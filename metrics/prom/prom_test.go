package prom

import (
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/shadowload/shadowload/metrics"
)

func TestObserveAddsIntervalsUp(t *testing.T) {
	h := hdrhistogram.New(int64(metrics.LowestLatency), int64(metrics.HighestLatency), metrics.SignificantDigits)
	for v := range 500 {
		_ = h.RecordValue(int64(v+1) * int64(time.Millisecond))
	}
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	iv := metrics.Interval{
		At:         time.Unix(1700000000, 0),
		Elapsed:    time.Second,
		Counters:   map[string]int64{"update.sent": 500, "update.sent{phase:steady}": 500, "update.timeout": 0},
		Latencies:  map[string]metrics.Summary{"update.accepted": {Count: 500}},
		Histograms: map[string]string{"update.accepted": string(enc)},
		Gauges:     map[string]float64{"things.up": 7},
	}
	e := New("1/3")
	e.Observe(iv)
	e.Observe(iv)
	fams, err := e.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["shard"] != "1/3" && len(f.GetName()) > 10 && f.GetName()[:10] == "shadowload" {
				t.Errorf("%s has no shard label: %v", f.GetName(), labels)
			}
			key := f.GetName() + "/" + labels["metric"] + "/" + labels["phase"]
			switch {
			case m.Counter != nil:
				got[key] = m.Counter.GetValue()
			case m.Histogram != nil:
				got[key] = float64(m.Histogram.GetSampleCount())
				if m.Histogram.GetSchema() == 0 && len(m.Histogram.GetPositiveSpan()) == 0 {
					t.Errorf("%s has no native buckets", key)
				}
			case m.Gauge != nil:
				got[key] = m.Gauge.GetValue()
			}
		}
	}
	for key, want := range map[string]float64{
		"shadowload_events_total/update.sent/":        1000,
		"shadowload_events_total/update.sent/steady":  1000,
		"shadowload_events_total/update.timeout/":     0,
		"shadowload_latency_seconds/update.accepted/": 1000,
		"shadowload_level/things.up/":                 7,
		"shadowload_interval_timestamp_seconds//":     1700000000,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
}
