package htmlreport

import (
	"bytes"
	"fmt"
	"image/color"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/shadowload/shadowload/metrics"
)

// Chart is one chart of a report: an id naming what it shows (such as
// "latency-update.accepted"), a title, and the chart as an SVG document.
type Chart struct {
	ID, Title string
	SVG       []byte
}

// Chart size, as gonum/plot measures it.
const (
	chartWidth  = 18 * vg.Centimeter
	chartHeight = 8 * vg.Centimeter
)

// palette gives each series of a chart its color, in order.
var palette = []color.RGBA{
	{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, {R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, {R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, {R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, {R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff}, {R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}, {R: 0x17, G: 0xbe, B: 0xcf, A: 0xff},
}

// ops are the shadow operations, in the order charts show them.
var ops = []string{"update", "get", "delete"}

// Charts draws the charts of a report, those it has data for:
//
//   - latency-METRIC: p50, p99 and max per interval over the run, for each
//     operation's accepted latency, delta and each observer group's fan-out;
//   - rates-OP: per second, what each operation sent, had accepted,
//     rejected (by code) and timed out;
//   - throughput: the schedule's rate against what was sent;
//   - spectrum-OP: the percentile spectrum of accepted latency on
//     HdrHistogram's 1/(1-p) axis, from the intended send time (corrected)
//     and from the actual send (uncorrected) side by side;
//   - fanout-GROUP: for a group of several filters, each filter's p99 per
//     interval;
//   - connected: the things connected over the run.
//
// Time runs in seconds from the report's start.
func Charts(r *metrics.Report) ([]Chart, error) {
	var out []Chart
	add := func(id, title string, p *plot.Plot, err error) error {
		if err != nil || p == nil {
			return err
		}
		svg, err := render(p)
		if err != nil {
			return fmt.Errorf("chart %s: %w", id, err)
		}
		out = append(out, Chart{ID: id, Title: title, SVG: svg})
		return nil
	}
	var latencyMetrics []string
	for _, op := range ops {
		latencyMetrics = append(latencyMetrics, op+".accepted")
	}
	latencyMetrics = append(latencyMetrics, "delta")
	latencyMetrics = append(latencyMetrics, fanoutGroups(r)...)
	for _, name := range latencyMetrics {
		if r.Latencies[name].Count == 0 {
			continue
		}
		p, err := latencyOverTime(r, name)
		if err := add("latency-"+name, name+": latency over the run (p50, p99, max per second)", p, err); err != nil {
			return nil, err
		}
	}
	for _, op := range ops {
		if r.Counters[op+".sent"] == 0 {
			continue
		}
		p, err := ratesOverTime(r, op)
		if err := add("rates-"+op, op+": sent, accepted, rejected by code and timed out per second", p, err); err != nil {
			return nil, err
		}
	}
	if err := add("throughput", "throughput: the schedule's rate and what was sent, per second", throughput(r), nil); err != nil {
		return nil, err
	}
	for _, op := range ops {
		if r.Latencies[op+".accepted"].Count == 0 {
			continue
		}
		p, err := spectrum(r, op+".accepted", op+".accepted.uncorrected")
		if err := add("spectrum-"+op, op+".accepted: percentile spectrum, corrected (from the intended send) and uncorrected (from the actual send)", p, err); err != nil {
			return nil, err
		}
	}
	for _, g := range fanoutGroups(r) {
		filters := fanoutFilters(r, g)
		if len(filters) == 0 {
			continue
		}
		if err := add("fanout-"+strings.TrimPrefix(g, "fanout."), g+": p99 latency per observer filter", fanoutByFilter(r, filters), nil); err != nil {
			return nil, err
		}
	}
	if err := add("connected", "things connected", gaugeOverTime(r, "things.up", "connected things"), nil); err != nil {
		return nil, err
	}
	return out, nil
}

// fanoutGroups names the fan-out latency metric of each observer group.
func fanoutGroups(r *metrics.Report) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(r.Latencies)) {
		if rest, ok := strings.CutPrefix(name, "fanout."); ok && !strings.Contains(rest, ".") && !strings.Contains(rest, "{") {
			out = append(out, name)
		}
	}
	return out
}

// fanoutFilters names the per-filter fan-out metrics of a group
// (fanout.GROUP.fN), in filter order.
func fanoutFilters(r *metrics.Report, group string) []string {
	var out []string
	for k := 0; ; k++ {
		name := fmt.Sprintf("%s.f%d", group, k)
		if _, ok := r.Latencies[name]; !ok {
			return out
		}
		out = append(out, name)
	}
}

// newPlot makes a plot with the report's look: a title, labelled axes and
// a grid.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = true
	return p
}

// addLine adds one series to p in the k-th color.
func addLine(p *plot.Plot, name string, xys plotter.XYs, k int, dashed bool) error {
	if len(xys) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("series %s: %w", name, err)
	}
	l.Color = palette[k%len(palette)]
	l.Width = vg.Points(1.2)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

// seconds is an interval's end in seconds from the report's start.
func seconds(r *metrics.Report, iv metrics.Interval) float64 {
	return iv.At.Sub(r.Start).Seconds()
}

func latencyOverTime(r *metrics.Report, name string) (*plot.Plot, error) {
	var p50, p99, pmax plotter.XYs
	for _, iv := range r.Intervals {
		s, ok := iv.Latencies[name]
		if !ok || s.Count == 0 {
			continue
		}
		x := seconds(r, iv)
		p50 = append(p50, plotter.XY{X: x, Y: s.P50 / 1e6})
		p99 = append(p99, plotter.XY{X: x, Y: s.P99 / 1e6})
		pmax = append(pmax, plotter.XY{X: x, Y: s.Max / 1e6})
	}
	if len(p50) == 0 {
		return nil, nil
	}
	p := newPlot(name, "seconds from the start", "latency (ms)")
	p.Y.Min = 0
	for k, s := range []struct {
		name string
		xys  plotter.XYs
	}{{"p50", p50}, {"p99", p99}, {"max", pmax}} {
		if err := addLine(p, s.name, s.xys, k, s.name == "max"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func ratesOverTime(r *metrics.Report, op string) (*plot.Plot, error) {
	type series struct {
		name string
		n    func(iv metrics.Interval) int64
	}
	count := func(name string) func(metrics.Interval) int64 {
		return func(iv metrics.Interval) int64 {
			if n, ok := iv.Counters[name]; ok {
				return n
			}
			return iv.Latencies[name].Count
		}
	}
	ss := []series{{"sent", count(op + ".sent")}, {"accepted", count(op + ".accepted")}}
	for _, name := range slices.Sorted(maps.Keys(r.Latencies)) {
		code, ok := strings.CutPrefix(name, op+".rejected.")
		if ok && code != "uncorrected" && r.Latencies[name].Count > 0 {
			ss = append(ss, series{"rejected " + code, count(name)})
		}
	}
	if r.Counters[op+".timeout"] > 0 {
		ss = append(ss, series{"timed out", count(op + ".timeout")})
	}
	p := newPlot(op+" requests", "seconds from the start", "per second")
	p.Y.Min = 0
	for k, s := range ss {
		var xys plotter.XYs
		for _, iv := range r.Intervals {
			if iv.Elapsed > 0 {
				xys = append(xys, plotter.XY{X: seconds(r, iv), Y: float64(s.n(iv)) / iv.Elapsed.Seconds()})
			}
		}
		if err := addLine(p, s.name, xys, k, false); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func throughput(r *metrics.Report) *plot.Plot {
	var sched, sent plotter.XYs
	for _, iv := range r.Intervals {
		if iv.Elapsed <= 0 {
			continue
		}
		x := seconds(r, iv)
		if v, ok := iv.Gauges["schedule.rate"]; ok {
			sched = append(sched, plotter.XY{X: x, Y: v})
		}
		var n int64
		for _, op := range ops {
			n += iv.Counters[op+".sent"]
		}
		sent = append(sent, plotter.XY{X: x, Y: float64(n) / iv.Elapsed.Seconds()})
	}
	if len(sched) == 0 && len(sent) == 0 {
		return nil
	}
	p := newPlot("throughput", "seconds from the start", "requests per second")
	p.Y.Min = 0
	_ = addLine(p, "scheduled", sched, 7, true)
	_ = addLine(p, "sent", sent, 0, false)
	return p
}

func gaugeOverTime(r *metrics.Report, gauge, label string) *plot.Plot {
	var xys plotter.XYs
	for _, iv := range r.Intervals {
		if v, ok := iv.Gauges[gauge]; ok {
			xys = append(xys, plotter.XY{X: seconds(r, iv), Y: v})
		}
	}
	if len(xys) == 0 {
		return nil
	}
	p := newPlot(label, "seconds from the start", label)
	p.Y.Min = 0
	_ = addLine(p, label, xys, 2, false)
	return p
}

func fanoutByFilter(r *metrics.Report, filters []string) *plot.Plot {
	p := newPlot("fan-out by filter", "seconds from the start", "p99 latency (ms)")
	p.Y.Min = 0
	any := false
	for k, name := range filters {
		var xys plotter.XYs
		for _, iv := range r.Intervals {
			if s, ok := iv.Latencies[name]; ok && s.Count > 0 {
				xys = append(xys, plotter.XY{X: seconds(r, iv), Y: s.P99 / 1e6})
			}
		}
		any = any || len(xys) > 0
		_ = addLine(p, name, xys, k, false)
	}
	if !any {
		return nil
	}
	return p
}

// spectrum draws the percentile spectrum of the corrected and uncorrected
// metrics on the 1/(1-p) axis, as HdrHistogram's plotter does.
func spectrum(r *metrics.Report, corrected, uncorrected string) (*plot.Plot, error) {
	p := newPlot(corrected+" percentile spectrum", "percentile", "latency (ms)")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = percentileTicks{}
	p.Legend.Top, p.Legend.Left = true, true
	for k, name := range []string{corrected, uncorrected} {
		if r.Latencies[name].Count == 0 {
			continue
		}
		h, err := r.Histogram(name)
		if err != nil {
			return nil, err
		}
		var xys plotter.XYs
		for _, b := range h.CumulativeDistributionWithTicks(5) {
			x := 1 / (1 - b.Quantile/100)
			if math.IsInf(x, 0) || math.IsNaN(x) || x > 1e7 {
				continue
			}
			xys = append(xys, plotter.XY{X: x, Y: float64(b.ValueAt) / 1e6})
		}
		label := "corrected"
		if k == 1 {
			label = "uncorrected"
		}
		if err := addLine(p, label, xys, k, k == 1); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// percentileTicks labels the 1/(1-p) axis with percentiles: 0%, 90%, 99%,
// 99.9% and so on.
type percentileTicks struct{}

func (percentileTicks) Ticks(lo, hi float64) []plot.Tick {
	labels := []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%", "99.99999%"}
	var out []plot.Tick
	for k, v := 0, 1.0; k < len(labels) && v <= hi*1.0001; k, v = k+1, v*10 {
		if v >= lo/1.0001 {
			out = append(out, plot.Tick{Value: v, Label: labels[k]})
		}
	}
	return out
}

// render draws p as SVG, without the XML prolog so that it can stand in an
// HTML page.
func render(p *plot.Plot) ([]byte, error) {
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	for _, a := range []*draw.TextStyle{&p.X.Tick.Label, &p.Y.Tick.Label} {
		a.Font.Size = vg.Points(8)
	}
	wt, err := p.WriterTo(chartWidth, chartHeight, "svg")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, err
	}
	svg := b.Bytes()
	if i := bytes.Index(svg, []byte("<svg")); i > 0 {
		svg = svg[i:]
	}
	return svg, nil
}

// since formats a duration from the start for tables.
func since(d time.Duration) string { return d.Round(time.Millisecond).String() }
