package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/shadowload/shadowload/internal/runner"
	"github.com/shadowload/shadowload/metrics"
)

func runReport(e *env, args []string) error {
	fs := newFlagSet(e, "report",
		"shadowload report [flags] REPORT.json…",
		`Show a report that "run --out" (or "merge") wrote, in another form:
  text   the summary "run" prints
  json   the report itself
  html   one self-contained page with charts (no network fetch)
  hgrm   HdrHistogram's percentile distribution of one latency metric (--metric)
  hlog   HdrHistogram's interval log: one histogram per metric per second
  junit  JUnit XML: a test case per threshold and one for the run's validity
  csv    the per-second intervals, one row per metric

Several reports are the shards of one run: they are merged first, exactly,
and judged as "merge" judges them. The command exits 0 once it has written
the output, whatever the run's verdict; 2 when a report cannot be read.`,
		`  shadowload report report.json
  shadowload report report.json --format html -o report.html
  shadowload report report.json --format hgrm --metric update.accepted.uncorrected -o uncorrected.hgrm
  shadowload report shard-*.json --format junit -o junit.xml`)
	format := fs.String("format", "text", "output format: "+formatNames())
	outPath := fs.StringP("output", "o", "", "write to this file instead of stdout")
	metric := fs.String("metric", "update.accepted", "the latency metric of --format hgrm")
	if err := fs.parse(args); err != nil {
		return err
	}
	write, ok := formats[*format]
	if !ok {
		return usagef("report: --format %q: want one of %s", *format, formatNames())
	}
	if fs.NArg() == 0 {
		return usagef("report: want at least one REPORT.json")
	}
	rep, err := readReports(fs.Args())
	if err != nil {
		return usageError{fmt.Errorf("report: %w", err)}
	}
	if rep.Latencies[*metric].Histogram == "" && *format == "hgrm" {
		if _, err := rep.Histogram(*metric); err != nil {
			return usageError{fmt.Errorf("report: --metric: %w", err)}
		}
	}
	return writeTo(e, *outPath, func(w io.Writer) error { return write(w, rep, *metric) })
}

// readReports reads the reports named; several are merged and judged as
// the shards of one run.
func readReports(paths []string) (*metrics.Report, error) {
	var reps []*metrics.Report
	for _, p := range paths {
		r, err := readReportFile(p)
		if err != nil {
			return nil, err
		}
		reps = append(reps, r)
	}
	if len(reps) == 1 {
		return reps[0], nil
	}
	rep, err := runner.Merge(reps...)
	if rep == nil {
		return nil, err
	}
	return rep, nil
}

// readReportFile reads one report file.
func readReportFile(path string) (*metrics.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := metrics.ReadReport(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// writeTo writes with write to path, or to stdout when path is empty. A
// file is written whole or not at all.
func writeTo(e *env, path string, write func(io.Writer) error) error {
	if path == "" {
		return write(e.stdout)
	}
	tmp, err := os.CreateTemp(dirOf(path), ".shadowload-*.tmp")
	if err != nil {
		return usageError{fmt.Errorf("-o %s: %w", path, err)}
	}
	werr := write(tmp)
	werr = errors.Join(werr, tmp.Chmod(0o644), tmp.Close())
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(tmp.Name())
		return usageError{fmt.Errorf("-o %s: %w", path, werr)}
	}
	return nil
}
