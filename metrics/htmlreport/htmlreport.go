// Package htmlreport writes a run's report as one self-contained HTML
// page: the verdict, the validity reasons, the thresholds marked pass or
// fail, the whole-run and per-phase tables, fan-out per observer filter,
// and SVG charts drawn with gonum.org/v1/plot (latency over time, rates by
// outcome, the percentile spectrum corrected and uncorrected, things
// connected). The page fetches nothing: it opens from a file URL or a CI
// artifact store as it is.
package htmlreport

import (
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shadowload/shadowload/metrics"
)

// page is what the template shows.
type page struct {
	Title, Verdict, VerdictClass string
	Start, Duration, Run         string
	Invalid                      []string
	Aborted                      string
	Judged                       bool
	Thresholds                   []metrics.ThresholdResult
	Whole                        []row
	Phases                       []phaseTable
	Fanout                       []fanoutRow
	Errors                       [][2]string
	Generator                    string
	Charts                       []chart
}

type chart struct {
	ID, Title string
	SVG       template.HTML
}

type row struct {
	Metric, Count, Rate      string
	P50, P90, P99, P999, Max string
	Latency                  bool
}

type phaseTable struct {
	Name, About string
	Rows        []row
}

type fanoutRow struct {
	Name, Expected, Received, Loss string
	Lossy                          bool
}

// Write writes r as an HTML page with its charts.
func Write(w io.Writer, r *metrics.Report) error {
	charts, err := Charts(r)
	if err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	pg := page{
		Title:    "shadowload report",
		Start:    r.Start.UTC().Format(time.RFC3339),
		Duration: r.Duration.Round(time.Millisecond).String(),
		Invalid:  r.Invalid,
		Aborted:  r.Aborted,
		Judged:   len(r.Invalid) == 0,
	}
	if name := r.ScenarioName(); name != "" {
		pg.Title += ": " + name
	}
	switch {
	case r.Shard != nil:
		pg.Run = "shard " + r.Shard.String() + " of a sharded run: its slice of the fleet; the fleet's result is the merge of every shard"
	case r.Merged > 1:
		pg.Run = fmt.Sprintf("merged from %d shard reports", r.Merged)
	}
	pg.Verdict, pg.VerdictClass = verdictOf(r)
	pg.Thresholds = r.Thresholds
	pg.Whole, pg.Phases = tables(r)
	pg.Fanout = fanout(r)
	for _, kind := range slices.Sorted(maps.Keys(r.Errors)) {
		pg.Errors = append(pg.Errors, [2]string{kind, r.Errors[kind]})
	}
	if g := r.Generator; g != nil {
		pg.Generator = fmt.Sprintf("CPU %.1f s on %d cores (%.0f%%), scheduler lag p99 %s, max %s",
			g.CPUSeconds, g.Cores, g.Utilization*100, metrics.FormatLatency(g.SchedulerLag.P99), metrics.FormatLatency(g.SchedulerLag.Max))
	}
	for _, c := range charts {
		// The SVG is gonum/plot's own output, not user text.
		pg.Charts = append(pg.Charts, chart{ID: c.ID, Title: c.Title, SVG: template.HTML(c.SVG)})
	}
	if err := pageTemplate.Execute(w, pg); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	return nil
}

// verdictOf names the run's verdict and its style.
func verdictOf(r *metrics.Report) (string, string) {
	v := r.Verdict
	if v == "" {
		switch {
		case len(r.Invalid) > 0:
			v = "invalid"
		case r.Aborted != "":
			v = "fail"
		default:
			v = "pass"
			for _, t := range r.Thresholds {
				if !t.Pass {
					v = "fail"
				}
			}
		}
	}
	switch v {
	case "invalid":
		return "INVALID: the run cannot be trusted; no threshold judges it", "invalid"
	case "fail":
		return "FAIL: a threshold failed", "fail"
	}
	return "PASS: the run was valid and every threshold passed", "pass"
}

// tables builds the whole-run table and the per-phase ones, of the metrics
// that recorded something.
func tables(r *metrics.Report) ([]row, []phaseTable) {
	names := slices.Sorted(maps.Keys(r.Counters))
	names = append(names, slices.Collect(maps.Keys(r.Latencies))...)
	slices.Sort(names)
	names = slices.Compact(names)
	scoped := map[string][]string{}
	var whole []row
	for _, name := range names {
		if metric, phase, ok := metrics.SplitScope(name); ok {
			scoped[phase] = append(scoped[phase], metric)
			continue
		}
		if rw, ok := rowOf(r, name, name, r.Duration); ok {
			whole = append(whole, rw)
		}
	}
	var phases []phaseTable
	for _, ph := range r.Phases {
		t := phaseTable{Name: ph.Name, About: fmt.Sprintf("%s from %s, %s/s", since(ph.Duration), since(ph.Start), rate(ph.From))}
		if ph.From != ph.To {
			t.About += " → " + rate(ph.To) + "/s"
		}
		for _, m := range scoped[ph.Name] {
			if rw, ok := rowOf(r, metrics.Scoped(m, ph.Name), m, ph.Duration); ok {
				t.Rows = append(t.Rows, rw)
			}
		}
		if len(t.Rows) > 0 {
			phases = append(phases, t)
		}
	}
	return whole, phases
}

// rowOf is the table row of metric key, shown as label, over d; ok is
// false when it recorded nothing.
func rowOf(r *metrics.Report, key, label string, d time.Duration) (row, bool) {
	per := func(n int64) string {
		if d <= 0 {
			return "-"
		}
		return strconv.FormatFloat(float64(n)/d.Seconds(), 'f', 1, 64)
	}
	if lr, ok := r.Latencies[key]; ok {
		if lr.Count == 0 {
			return row{}, false
		}
		f := metrics.FormatLatency
		return row{Metric: label, Count: strconv.FormatInt(lr.Count, 10), Rate: per(lr.Count), Latency: true,
			P50: f(lr.P50), P90: f(lr.P90), P99: f(lr.P99), P999: f(lr.P999), Max: f(lr.Max)}, true
	}
	n := r.Counters[key]
	if n == 0 {
		return row{}, false
	}
	return row{Metric: label, Count: strconv.FormatInt(n, 10), Rate: per(n)}, true
}

// fanout lists each observer group, and each of its filters, with the
// deliveries expected and received.
func fanout(r *metrics.Report) []fanoutRow {
	var out []fanoutRow
	for _, name := range slices.Sorted(maps.Keys(r.Counters)) {
		prefix, ok := strings.CutSuffix(name, ".expected")
		if !ok || !strings.HasPrefix(prefix, "fanout.") || strings.Contains(prefix, "{") {
			continue
		}
		exp, got := r.Counters[name], r.Counters[prefix+".received"]
		fr := fanoutRow{Name: prefix, Expected: strconv.FormatInt(exp, 10), Received: strconv.FormatInt(got, 10), Loss: "-"}
		if exp > 0 {
			loss := float64(max(exp-got, 0)) / float64(exp)
			fr.Loss, fr.Lossy = strconv.FormatFloat(loss*100, 'f', 3, 64)+"%", loss > 0
		}
		out = append(out, fr)
	}
	return out
}

func rate(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 72rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.meta { color: #555; }
.verdict { padding: .6rem 1rem; border-radius: .3rem; font-weight: 600; margin: 1rem 0; }
.verdict.pass { background: #e3f6e3; color: #14631a; }
.verdict.fail { background: #fde4e1; color: #9b1c12; }
.verdict.invalid { background: #fff1cc; color: #7a5200; }
table { border-collapse: collapse; font-size: .9rem; margin: .5rem 0; }
th, td { padding: .2rem .6rem; text-align: right; border-bottom: 1px solid #eee; }
th:first-child, td:first-child { text-align: left; }
table.thresholds td, table.thresholds th { text-align: left; }
td.PASS { color: #14631a; font-weight: 600; }
td.FAIL { color: #9b1c12; font-weight: 600; }
td.NOTJUDGED { color: #7a5200; }
tr.lossy td { color: #9b1c12; }
figure.chart { margin: 1rem 0; }
figure.chart svg { width: 100%; max-width: 56rem; height: auto; }
figcaption { font-size: .9rem; color: #444; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="meta">started {{.Start}}, schedule {{.Duration}}{{if .Run}}; {{.Run}}{{end}}</p>
<div class="verdict {{.VerdictClass}}" id="verdict">{{.Verdict}}</div>

<section id="validity">
<h2>Validity</h2>
{{if .Invalid}}<p>The run cannot be trusted:</p>
<ul>{{range .Invalid}}<li>{{.}}</li>{{end}}</ul>
{{else}}<p>The run kept every validity bound: its thresholds judge it.</p>{{end}}
{{if .Aborted}}<p>Aborted: {{.Aborted}}</p>{{end}}
</section>

{{if .Thresholds}}<section id="thresholds">
<h2>Thresholds</h2>
<table class="thresholds">
<tr><th>verdict</th><th>metric</th><th>threshold</th><th>measured</th></tr>
{{range .Thresholds}}<tr><td class="{{if not $.Judged}}NOTJUDGED{{else if .Pass}}PASS{{else}}FAIL{{end}}">{{if not $.Judged}}not judged{{else if .Pass}}PASS{{else}}FAIL{{end}}</td><td>{{.Metric}}</td><td>{{.Expr}}</td><td>{{.Actual}}</td></tr>
{{end}}</table>
</section>{{end}}

<section id="charts">
<h2>Charts</h2>
{{range .Charts}}<figure class="chart" id="chart-{{.ID}}" data-chart="{{.ID}}">
{{.SVG}}
<figcaption>{{.Title}}</figcaption>
</figure>
{{end}}</section>

<section id="metrics">
<h2>Whole run</h2>
<table>
<tr><th>metric</th><th>count</th><th>rate/s</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>
{{range .Whole}}<tr><td>{{.Metric}}</td><td>{{.Count}}</td><td>{{.Rate}}</td>{{if .Latency}}<td>{{.P50}}</td><td>{{.P90}}</td><td>{{.P99}}</td><td>{{.P999}}</td><td>{{.Max}}</td>{{else}}<td></td><td></td><td></td><td></td><td></td>{{end}}</tr>
{{end}}</table>
</section>

{{if .Phases}}<section id="phases">
<h2>Phases</h2>
{{range .Phases}}<h3>{{.Name}}: {{.About}}</h3>
<table class="phase">
<tr><th>metric</th><th>count</th><th>rate/s</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>
{{range .Rows}}<tr><td>{{.Metric}}</td><td>{{.Count}}</td><td>{{.Rate}}</td>{{if .Latency}}<td>{{.P50}}</td><td>{{.P90}}</td><td>{{.P99}}</td><td>{{.P999}}</td><td>{{.Max}}</td>{{else}}<td></td><td></td><td></td><td></td><td></td>{{end}}</tr>
{{end}}</table>
{{end}}</section>{{end}}

{{if .Fanout}}<section id="fanout">
<h2>Fan-out to observers</h2>
<table>
<tr><th>group or filter</th><th>expected</th><th>received</th><th>lost</th></tr>
{{range .Fanout}}<tr{{if .Lossy}} class="lossy"{{end}}><td>{{.Name}}</td><td>{{.Expected}}</td><td>{{.Received}}</td><td>{{.Loss}}</td></tr>
{{end}}</table>
</section>{{end}}


{{if .Errors}}<section id="errors">
<h2>First error of each kind</h2>
<table>{{range .Errors}}<tr><td>{{index . 0}}</td><td style="text-align:left">{{index . 1}}</td></tr>{{end}}</table>
</section>{{end}}

{{if .Generator}}<section id="generator">
<h2>Load generator</h2>
<p>{{.Generator}}</p>
</section>{{end}}
</body>
</html>
`))
