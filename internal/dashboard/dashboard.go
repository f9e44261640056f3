// Package dashboard serves the live page of a run (shadowload run
// --dashboard): progress, things connected, thresholds judged on the
// totals so far, and the HTML report's charts (package htmlreport, the one
// home of each chart) redrawn every second and pushed to the page with
// server-sent events; at the end, the final report to download. The page
// and its script are embedded and fetch nothing from the network.
package dashboard

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shadowload/shadowload/internal/runner"
	"github.com/shadowload/shadowload/metrics"
	"github.com/shadowload/shadowload/metrics/htmlreport"
)

// DefaultListen is the dashboard's default address: loopback only.
const DefaultListen = "127.0.0.1:8081"

// Bounds of the dashboard.
const (
	maxViewers    = 64
	writeTimeout  = 10 * time.Second
	shutdownGrace = 2 * time.Second
	keepAlive     = 15 * time.Second
	// maxIntervals bounds the intervals kept for the charts: a day of
	// seconds; past it the oldest are let go.
	maxIntervals = 86_400
	// chartBudget is the share of one core the charts may take in the
	// load generator's process: drawing them takes longer as the run
	// grows (about 35 ms for ten minutes of intervals), so they are
	// redrawn every second only while that costs under 5% of a second,
	// and less often after.
	chartBudget = 20
)

//go:embed web
var webFS embed.FS

// Options configure a Dashboard.
type Options struct {
	// Listen is the TCP address; default DefaultListen.
	Listen string
	// Title names the run, such as the scenario's name.
	Title string
	// Planned is the schedule's length, for the progress bar.
	Planned time.Duration
	// Logger receives the dashboard's own records; default discards them.
	Logger *slog.Logger
}

// Dashboard is a running live page of one run. Feed it Interval and
// Progress while the run goes, then Finish with the report.
type Dashboard struct {
	opts Options
	log  *slog.Logger
	srv  *http.Server
	ln   net.Listener

	mu        sync.Mutex
	intervals []metrics.Interval
	state     []byte // the latest state event, JSON
	viewers   map[chan []byte]struct{}
	final     *metrics.Report
	html      []byte // the final report as HTML
	closed    bool
	stop      chan struct{} // closed by Close: event streams end

	// drawn is when the charts were last drawn and cost how long it took.
	drawn time.Time
	cost  time.Duration
}

// chart is one chart in a state event: an SVG as base64, for an img's
// data URL.
type chart struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	SVG   string `json:"svg"`
}

// threshold is one threshold in a state event: pass, fail or pending
// (not decidable yet).
type threshold struct {
	Metric string `json:"metric"`
	Expr   string `json:"expr"`
	State  string `json:"state"`
	Actual string `json:"actual"`
}

// state is what the page shows, sent whole each time.
type state struct {
	Title      string      `json:"title"`
	Phase      string      `json:"phase"`
	Elapsed    float64     `json:"elapsed"`
	Planned    float64     `json:"planned"`
	Connected  int         `json:"connected"`
	Things     int         `json:"things"`
	TargetRate float64     `json:"targetRate"`
	Counters   [][2]any    `json:"counters"`
	Thresholds []threshold `json:"thresholds"`
	Charts     []chart     `json:"charts"`
	Done       bool        `json:"done"`
	Verdict    string      `json:"verdict,omitempty"`
	Invalid    []string    `json:"invalid,omitempty"`
	Updates    int         `json:"updates"`
}

// Start serves the dashboard on opts.Listen.
func Start(opts Options) (*Dashboard, error) {
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("dashboard: listen on %s: %w", opts.Listen, err)
	}
	d := &Dashboard{opts: opts, log: opts.Logger, ln: ln, viewers: map[chan []byte]struct{}{}, stop: make(chan struct{})}
	d.state, _ = json.Marshal(state{Title: opts.Title, Phase: "starting", Planned: opts.Planned.Seconds()})
	mux := http.NewServeMux()
	static, _ := fs.Sub(webFS, "web")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", d.page)
	mux.HandleFunc("GET /events", d.events)
	mux.HandleFunc("GET /report.html", d.reportHTML)
	mux.HandleFunc("GET /report.json", d.reportJSON)
	d.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			mux.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("dashboard stopped", "error", err)
		}
	}()
	return d, nil
}

// URL returns the dashboard's address, http://host:port.
func (d *Dashboard) URL() string { return "http://" + d.ln.Addr().String() }

// Interval keeps one interval of the run for the charts
// (runner.Options.OnInterval).
func (d *Dashboard) Interval(iv metrics.Interval) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.intervals) >= maxIntervals {
		d.intervals = d.intervals[1:]
	}
	d.intervals = append(d.intervals, iv)
}

// Progress updates the page from the run's state
// (runner.Options.OnProgress), with the charts redrawn within
// chartBudget; with nobody watching it does nothing.
func (d *Dashboard) Progress(p runner.Progress) {
	d.mu.Lock()
	watched := len(d.viewers) > 0
	ivs := d.intervals
	d.mu.Unlock()
	if !watched || p.Totals == nil {
		return
	}
	live := *p.Totals
	live.Intervals = ivs
	st := state{Title: d.opts.Title, Phase: p.Phase, Elapsed: p.Elapsed.Seconds(), Planned: d.opts.Planned.Seconds(),
		Connected: p.Connected, Things: p.Things, TargetRate: p.TargetRate, Counters: counters(&live)}
	for _, t := range p.Thresholds {
		s := "fail"
		switch {
		case t.Undecided:
			s = "pending"
		case t.Pass:
			s = "pass"
		}
		st.Thresholds = append(st.Thresholds, threshold{Metric: t.Metric, Expr: t.Expr, State: s, Actual: t.Actual})
	}
	if now := time.Now(); now.Sub(d.drawn) >= max(time.Second-50*time.Millisecond, chartBudget*d.cost) {
		st.Charts = d.charts(&live)
		d.drawn, d.cost = now, time.Since(now)
	}
	d.publish(st)
}

// Finish shows the run's final report: its charts, its judged thresholds
// and verdict, and links to download it.
func (d *Dashboard) Finish(rep *metrics.Report) {
	var html bytes.Buffer
	if err := htmlreport.Write(&html, rep); err != nil {
		d.log.Warn("dashboard: final report", "error", err)
	}
	st := state{Title: d.opts.Title, Phase: "done", Elapsed: rep.Duration.Seconds(), Planned: d.opts.Planned.Seconds(),
		Counters: counters(rep), Done: true, Verdict: rep.Verdict, Invalid: rep.Invalid}
	if g, ok := lastGauge(rep, "things.up"); ok {
		st.Connected = int(g)
	}
	for _, t := range rep.Thresholds {
		s := "fail"
		switch {
		case len(rep.Invalid) > 0:
			s = "not judged"
		case t.Pass:
			s = "pass"
		}
		st.Thresholds = append(st.Thresholds, threshold{Metric: t.Metric, Expr: t.Expr, State: s, Actual: t.Actual})
	}
	st.Charts = d.charts(rep)
	d.mu.Lock()
	d.final, d.html = rep, html.Bytes()
	d.mu.Unlock()
	d.publish(st)
}

// lastGauge is a gauge's value in the last interval that has it.
func lastGauge(r *metrics.Report, name string) (float64, bool) {
	for i := len(r.Intervals) - 1; i >= 0; i-- {
		if v, ok := r.Intervals[i].Gauges[name]; ok {
			return v, true
		}
	}
	return 0, false
}

// counters lists the report's non-zero outcome counters for the page.
func counters(r *metrics.Report) [][2]any {
	var out [][2]any
	for _, name := range []string{"update.sent", "get.sent", "delete.sent", "update.timeout", "get.timeout", "delete.timeout", "things.connected", "connect.lost"} {
		if v := r.Counters[name]; v != 0 {
			out = append(out, [2]any{name, v})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Counters)) {
		if strings.HasPrefix(name, "fanout.") && (strings.HasSuffix(name, ".expected") || strings.HasSuffix(name, ".received")) && r.Counters[name] != 0 {
			out = append(out, [2]any{name, r.Counters[name]})
		}
	}
	for _, name := range []string{"update.accepted", "update.rejected", "get.accepted", "get.rejected", "delete.accepted", "delete.rejected", "delta"} {
		if l, ok := r.Latencies[name]; ok && l.Count > 0 {
			out = append(out, [2]any{name, l.Count})
		}
	}
	return out
}

// charts draws the report's charts with htmlreport.
func (d *Dashboard) charts(r *metrics.Report) []chart {
	cs, err := htmlreport.Charts(r)
	if err != nil {
		d.log.Warn("dashboard: charts", "error", err)
		return nil
	}
	out := make([]chart, len(cs))
	for i, c := range cs {
		out[i] = chart{ID: c.ID, Title: c.Title, SVG: base64.StdEncoding.EncodeToString(c.SVG)}
	}
	return out
}

// publish makes st the page's state and sends it to every viewer; a
// viewer still busy with the last state skips to this one.
func (d *Dashboard) publish(st state) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st.Updates = stateCount(d.state) + 1
	b, err := json.Marshal(st)
	if err != nil {
		d.log.Warn("dashboard: state", "error", err)
		return
	}
	d.state = b
	for ch := range d.viewers {
		select {
		case <-ch:
		default:
		}
		ch <- b
	}
}

// stateCount reads the update count of a state event.
func stateCount(b []byte) int {
	var s struct {
		Updates int `json:"updates"`
	}
	_ = json.Unmarshal(b, &s)
	return s.Updates
}

func (d *Dashboard) page(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(webFS, "web/dashboard.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// events streams the page's state: the latest at once, then each new one.
func (d *Dashboard) events(w http.ResponseWriter, r *http.Request) {
	ch := make(chan []byte, 1)
	d.mu.Lock()
	if d.closed || len(d.viewers) >= maxViewers {
		d.mu.Unlock()
		http.Error(w, "too many viewers", http.StatusServiceUnavailable)
		return
	}
	d.viewers[ch] = struct{}{}
	ch <- d.state
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.viewers, ch)
		d.mu.Unlock()
	}()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	t := time.NewTicker(keepAlive)
	defer t.Stop()
	for {
		var msg string
		select {
		case b := <-ch:
			msg = "event: state\ndata: " + string(b) + "\n\n"
		case <-t.C:
			msg = ": keep-alive\n\n"
		case <-r.Context().Done():
			return
		case <-d.stop:
			return
		}
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := fmt.Fprint(w, msg); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// reportHTML serves the final report's HTML page once the run ended.
func (d *Dashboard) reportHTML(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	html := d.html
	d.mu.Unlock()
	if html == nil {
		http.Error(w, "the run has not ended yet", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="report.html"`)
	_, _ = w.Write(html)
}

// reportJSON serves the final report's JSON once the run ended.
func (d *Dashboard) reportJSON(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	rep := d.final
	d.mu.Unlock()
	if rep == nil {
		http.Error(w, "the run has not ended yet", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="report.json"`)
	_ = rep.WriteJSON(w)
}

// Close stops the dashboard.
func (d *Dashboard) Close() error {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		close(d.stop)
	}
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := d.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = d.srv.Close()
	}
	return err
}
