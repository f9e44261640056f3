package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/shadowload/shadowload/internal/runner"
	"github.com/shadowload/shadowload/metrics"
)

func runMerge(e *env, args []string) error {
	fs := newFlagSet(e, "merge",
		"shadowload merge [flags] SHARD.json… -o TOTAL.json",
		`Merge the reports of the shards of one run ("run --shard i/N") into the
fleet's report, exactly: counters add up, HDR histograms merge (so the
fleet's percentiles are those of every value any shard recorded), and the
per-second intervals line up by wall time. The result is judged as "run"
judges a run: invalid when any shard was, or when the fleet's books break
the scenario's validity bounds (fan-out loss is only seen here); otherwise
the scenario's thresholds, evaluated again on the merged result.

Every shard 0 to N-1 must be there, once. The summary goes to stdout.

Exit codes, as "run": 0 valid and every threshold passed; 1 a threshold
failed; 2 the reports cannot be read or are not the shards of one run; 3
the fleet's run cannot be trusted.`,
		`  shadowload merge shard-0.json shard-1.json shard-2.json -o total.json
  shadowload merge reports/shard-*.json -o total.json --html total.html --junit junit.xml`)
	outPath := fs.StringP("output", "o", "", "write the merged report (JSON) to this file")
	html := fs.String("html", "", "also write the merged report as an HTML page")
	hlog := fs.String("hlog", "", "also write the merged intervals as an HdrHistogram interval log")
	junit := fs.String("junit", "", "also write the verdict as JUnit XML")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("merge: want the shards' reports")
	}
	var reps []*metrics.Report
	for _, p := range fs.Args() {
		r, err := readReportFile(p)
		if err != nil {
			return usageError{fmt.Errorf("merge: %w", err)}
		}
		reps = append(reps, r)
	}
	rep, err := runner.Merge(reps...)
	if rep == nil {
		return usageError{err}
	}
	outs := fileOutputs(map[string]string{"--html": *html, "--hlog": *hlog, "--junit": *junit})
	if *outPath != "" {
		outs = append(outs, runner.Output{Path: *outPath, Flag: "-o", Write: func(w io.Writer, r *metrics.Report) error { return r.WriteJSON(w) }})
	}
	var werr error
	for _, o := range outs {
		if err := writeTo(e, o.Path, func(w io.Writer) error { return o.Write(w, rep) }); err != nil {
			werr = errors.Join(werr, err)
		}
	}
	if serr := metrics.WriteSummary(e.stdout, rep); serr != nil {
		fmt.Fprintf(e.stderr, "shadowload: %v\n", serr)
	}
	if werr != nil {
		return werr
	}
	return err
}

// dirOf is the directory of path, for the temporary file beside it.
func dirOf(path string) string {
	if d := filepath.Dir(path); d != "" {
		return d
	}
	return string(os.PathSeparator)
}
