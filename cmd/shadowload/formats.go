package main

import (
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/shadowload/shadowload/internal/runner"
	"github.com/shadowload/shadowload/metrics"
	"github.com/shadowload/shadowload/metrics/htmlreport"
)

// formats are the views of a report, by the name "report --format" takes:
// the one home of what each output flag writes. metric is the latency
// metric of the formats that show one (hgrm).
var formats = map[string]func(w io.Writer, r *metrics.Report, metric string) error{
	"text":  func(w io.Writer, r *metrics.Report, _ string) error { return metrics.WriteSummary(w, r) },
	"json":  func(w io.Writer, r *metrics.Report, _ string) error { return r.WriteJSON(w) },
	"html":  func(w io.Writer, r *metrics.Report, _ string) error { return htmlreport.Write(w, r) },
	"hgrm":  func(w io.Writer, r *metrics.Report, metric string) error { return metrics.WriteHgrm(w, r, metric) },
	"hlog":  func(w io.Writer, r *metrics.Report, _ string) error { return metrics.WriteHlog(w, r) },
	"junit": func(w io.Writer, r *metrics.Report, _ string) error { return metrics.WriteJUnit(w, r) },
	"csv":   func(w io.Writer, r *metrics.Report, _ string) error { return metrics.WriteCSV(w, r) },
}

// formatNames lists the formats for help and errors.
func formatNames() string { return strings.Join(slices.Sorted(maps.Keys(formats)), ", ") }

// fileOutputs are the runner outputs of the file flags that were given,
// keyed by flag ("--html"), whose format is the flag's name.
func fileOutputs(paths map[string]string) []runner.Output {
	var out []runner.Output
	for _, flag := range slices.Sorted(maps.Keys(paths)) {
		if paths[flag] == "" {
			continue
		}
		f := formats[strings.TrimPrefix(flag, "--")]
		out = append(out, runner.Output{Path: paths[flag], Flag: flag, Write: func(w io.Writer, r *metrics.Report) error { return f(w, r, "") }})
	}
	return out
}
