// Package prom serves a run's metrics live to Prometheus while it goes on:
// every interval the run collects (once a second) is added to Prometheus
// counters, histograms and gauges registered with client_golang, served on
// /metrics in the Prometheus text and OpenMetrics formats, and in the
// protobuf format that carries native histograms.
//
// The names, documented in docs/metrics.md:
//
//	shadowload_events_total{metric="update.sent"}            every counter of the run
//	shadowload_latency_seconds{metric="update.accepted"}      every latency metric: a histogram with
//	                                                          classic buckets and a native one
//	shadowload_level{metric="things.up"}                      the run's gauges (things.up, schedule.rate)
//	shadowload_interval_timestamp_seconds                     the end of the last interval collected
//
// A metric scoped to a phase, such as update.accepted{phase:steady}, keeps
// its metric label and gains a phase label; a sharded run's series carry a
// shard label ("i/N").
package prom

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shadowload/shadowload/metrics"
)

// LatencyBuckets are the classic histogram buckets of
// shadowload_latency_seconds, from 1ms to 60s; the native histogram beside
// them has no fixed buckets.
var LatencyBuckets = []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Exporter turns a run's intervals into Prometheus metrics. Its methods
// are safe for concurrent use.
type Exporter struct {
	reg       *prometheus.Registry
	events    *prometheus.CounterVec
	latencies *prometheus.HistogramVec
	gauges    *prometheus.GaugeVec
	stamp     prometheus.Gauge

	mu sync.Mutex
}

// New returns an Exporter with its own registry, which also holds the Go
// runtime's and the process's collectors. shard labels every series when
// not empty, such as "1/3".
func New(shard string) *Exporter {
	labels := prometheus.Labels{}
	if shard != "" {
		labels["shard"] = shard
	}
	e := &Exporter{reg: prometheus.NewRegistry()}
	e.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shadowload_events_total", Help: "Counters of the run, by shadowload metric name (docs/metrics.md).", ConstLabels: labels,
	}, []string{"metric", "phase"})
	e.latencies = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "shadowload_latency_seconds", Help: "Latencies of the run, by shadowload metric name (docs/metrics.md).", ConstLabels: labels,
		Buckets:                         LatencyBuckets,
		NativeHistogramBucketFactor:     1.1,
		NativeHistogramMaxBucketNumber:  160,
		NativeHistogramMinResetDuration: time.Hour,
	}, []string{"metric", "phase"})
	e.gauges = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "shadowload_level", Help: "Levels of the run at the end of the last interval: things.up, schedule.rate.", ConstLabels: labels,
	}, []string{"metric"})
	e.stamp = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "shadowload_interval_timestamp_seconds", Help: "End of the last interval collected, in seconds since the Unix epoch.", ConstLabels: labels,
	})
	e.reg.MustRegister(e.events, e.latencies, e.gauges, e.stamp,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return e
}

// Observe adds one interval: counters grow by its increments, each latency
// value it recorded is observed (at the midpoint of its HDR bucket, which
// is within the histogram's 3 significant digits), and gauges take its
// levels. An interval whose histograms do not decode adds its counters and
// gauges only.
func (e *Exporter) Observe(iv metrics.Interval) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for name, n := range iv.Counters {
		m, phase := split(name)
		c := e.events.WithLabelValues(m, phase)
		if n > 0 {
			c.Add(float64(n))
		}
	}
	for name := range iv.Latencies {
		h, err := iv.Histogram(name)
		if err != nil {
			continue
		}
		m, phase := split(name)
		obs := e.latencies.WithLabelValues(m, phase)
		for _, bar := range h.Distribution() {
			if bar.Count == 0 {
				continue
			}
			v := float64(bar.From+bar.To) / 2 / 1e9
			for range bar.Count {
				obs.Observe(v)
			}
		}
	}
	for name, v := range iv.Gauges {
		e.gauges.WithLabelValues(name).Set(v)
	}
	e.stamp.Set(float64(iv.At.UnixNano()) / 1e9)
}

// split parts a metric name into the metric and its phase ("" for the
// whole run).
func split(name string) (metric, phase string) {
	if m, p, ok := metrics.SplitScope(name); ok {
		return m, p
	}
	return name, ""
}

// Handler serves the metrics, in whichever format the scraper asks for.
func (e *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// Registry is the exporter's registry, for tests and for gathering.
func (e *Exporter) Registry() *prometheus.Registry { return e.reg }

// Serve serves /metrics on addr until the returned stop is called; it
// returns the address it listens on (addr may have port 0).
func Serve(addr string, e *Exporter) (bound string, stop func(), err error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", e.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("shadowload: metrics on /metrics\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	ln, err := listen(addr)
	if err != nil {
		return "", nil, err
	}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}
