package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/shadowload/shadowload/internal/runner"
	"github.com/shadowload/shadowload/metrics"
)

func runCompare(e *env, args []string) error {
	fs := newFlagSet(e, "compare",
		"shadowload compare [flags] BASE.json NEW.json",
		`Compare a run against a baseline, for a CI gate relative to the last good
run rather than to fixed numbers. For each latency metric compared (by
default every OP.accepted, delta and fanout.GROUP that BASE recorded) it shows
the rate (count per second of the run) and p50, p99 and p99.9 in both, and
the change. NEW regresses when a latency statistic grew by more than
--max-regression and by at least --min-latency-change, when a rate fell by
more than --max-regression, or when NEW lacks a metric BASE had.

Exit codes: 0 no regression; 1 NEW regressed beyond the bound; 2 a report
cannot be read (or bad flags); 3 BASE or NEW is an invalid run, which
nothing can be concluded from.`,
		`  shadowload compare baseline.json report.json
  shadowload compare baseline.json report.json --max-regression 25% --stat p99 --stat rate
  shadowload compare baseline.json report.json --metric update.accepted --metric 'fanout.*'`)
	maxReg := fs.String("max-regression", "10%", "how much worse NEW may be, as a percentage")
	floor := fs.Duration("min-latency-change", 0, "ignore latency changes smaller than this (default 1ms): loopback noise")
	stats := fs.StringSlice("stat", nil, "statistics that gate (rate, p50, p99, p99.9; repeatable; default all)")
	metricsFlag := fs.StringSlice("metric", nil, "latency metrics compared, names or patterns such as fanout.* (repeatable)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("compare: want BASE.json and NEW.json, got %d arguments", fs.NArg())
	}
	bound, err := parsePercent(*maxReg)
	if err != nil {
		return usagef("compare: --max-regression %q: %v", *maxReg, err)
	}
	if *floor < 0 {
		return usagef("compare: --min-latency-change %v: want 0 or more", *floor)
	}
	var reps [2]*metrics.Report
	for i, p := range fs.Args() {
		if reps[i], err = readReportFile(p); err != nil {
			return usageError{fmt.Errorf("compare: %w", err)}
		}
	}
	c, err := metrics.Compare(reps[0], reps[1], metrics.CompareOptions{MaxRegression: bound, MinLatencyChange: *floor, Stats: *stats, Metrics: *metricsFlag})
	if err != nil {
		return usageError{err}
	}
	if err := c.Write(e.stdout); err != nil {
		return err
	}
	for i, r := range reps {
		if len(r.Invalid) > 0 {
			which := [2]string{"BASE", "NEW"}[i]
			return invalidCompare{fmt.Errorf("compare: %s (%s) is an invalid run: %s", which, fs.Arg(i), strings.Join(r.Invalid, "; "))}
		}
	}
	if c.Regressed {
		return regression{errors.New("compare: NEW regressed beyond the bound")}
	}
	return nil
}

// regression is compare's verdict that NEW is worse: exit 1.
type regression struct{ error }

// Is makes a regression exit as a failed threshold does.
func (regression) Is(target error) bool { return target == runner.ErrThresholds }

// invalidCompare is compare's refusal to judge an invalid run: exit 3.
type invalidCompare struct{ error }

// Is makes it exit as an invalid run does.
func (invalidCompare) Is(target error) bool { return target == runner.ErrInvalid }

// parsePercent reads "10%" (or "0.1") as a fraction.
func parsePercent(s string) (float64, error) {
	t := strings.TrimSpace(s)
	num, pct := strings.CutSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || !(v > 0) {
		return 0, errors.New("want a positive percentage such as 10%")
	}
	if pct {
		v /= 100
	}
	return v, nil
}
