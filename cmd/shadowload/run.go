package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/shadowload/shadowload/metrics"
	"github.com/shadowload/shadowload/scenario"
)

// runError carries a run's exit code: 1 for a failed threshold, 3 for a run
// that cannot be trusted.
type runError struct {
	code int
	msg  string
}

func (e runError) Error() string { return e.msg }
func (e runError) ExitCode() int { return e.code }

func runRun(e *env, args []string) error {
	fs := newFlagSet(e, "run",
		"shadowload run [flags] [FILE]",
		`Run a scenario: bring up the fleet (each thing with its own certificate and
mutual-TLS MQTT connection), drive the phases on an open-model schedule and
print a summary of what the shadow service did: update→accepted/rejected
latency from the intended send time (corrected) and from the actual send
(uncorrected), rejections by code, time-outs, deltas at the devices and fan-out
to observers, with the thresholds' verdict.

Without FILE it runs scenarios/quickstart.yaml. With no endpoint in the file
or on the command line the target is the embedded AWS IoT Core emulator, on a
free loopback port with a fresh temporary fleet: no AWS account needed.

Exit codes: 0 every threshold passed, 1 a threshold failed, 2 usage or
scenario error, 3 invalid run (target unreachable, no thing connected, or the
generator fell behind its own schedule).`,
		`  shadowload run
  shadowload run scenarios/desired-delta.yaml --out report.json
  shadowload run scenarios/steady-fleet.yaml --things 2000 --rate 10000/s --duration 1m
  shadowload run scenarios/aws-example.yaml --endpoint abc123-ats.iot.us-east-1.amazonaws.com:8883 --bundles ./bundles`)
	endpoint := fs.String("endpoint", "", `override target.endpoint: "embedded" or host:port`)
	bundles := fs.String("bundles", "", "override target.bundles: the directory \"shadowload provision\" wrote")
	things := fs.Int("things", 0, "override fleet.things")
	rate := fs.String("rate", "", "scale the phases so the peak rate is this, e.g. 500/s")
	duration := fs.Duration("duration", 0, "scale the phases to last this long in all, e.g. 1m")
	out := fs.String("out", "", "write the full report (counters, intervals, HDR histograms) as JSON to this file")
	quiet := fs.Bool("quiet", false, "no progress line and no setup messages on stderr")
	seed := fs.Int64("seed", 1, "seed of the generated payload values")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile (go tool pprof) to this file")
	if err := fs.parse(args); err != nil {
		return err
	}
	file, err := scenarioArg(fs, "run")
	if err != nil {
		return err
	}
	s, err := loadScenario(file)
	if err != nil {
		return err
	}
	if fs.Changed("things") && *things < 1 {
		return usagef("run: --things %d: want at least 1", *things)
	}
	if fs.Changed("duration") && *duration <= 0 {
		return usagef("run: --duration %v: want a positive duration", *duration)
	}
	o := scenario.Overrides{Endpoint: *endpoint, Bundles: *bundles, Things: *things, Duration: *duration}
	if *rate != "" {
		r, err := scenario.ParseRate(*rate)
		if err != nil {
			return usagef("run: --rate: %v", err)
		}
		o.Rate = r
	}
	if err := s.Apply(o); err != nil {
		return usageError{err}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := scenario.RunOptions{Seed: *seed}
	if !*quiet {
		opts.Log = e.stderr
		if e.stderrTerminal {
			opts.Progress = func(line string) { fmt.Fprintf(e.stderr, "\r\033[K%s", line) }
		}
	}
	if !*quiet {
		fmt.Fprintf(e.stderr, "scenario %s (%s): %d things, %s\n", s.Name, s.Source, s.Fleet.Things, phaseSummary(s))
	}
	stopProfile, err := startCPUProfile(*cpuprofile)
	if err != nil {
		return err
	}
	rep, err := scenario.Run(ctx, s, opts)
	if perr := stopProfile(); perr != nil && err == nil {
		err = perr
	}
	if opts.Progress != nil {
		fmt.Fprint(e.stderr, "\r\033[K")
	}
	if err != nil {
		if errors.Is(err, scenario.ErrUnreachable) || errors.Is(err, scenario.ErrNothingConnected) {
			return runError{exitInvalid, "invalid run: " + err.Error()}
		}
		return err
	}
	if ctx.Err() != nil {
		rep.Invalid = append(rep.Invalid, "interrupted before the schedule ended")
	}
	if *out != "" {
		if err := writeReport(*out, rep); err != nil {
			return err
		}
	}
	if err := metrics.WriteSummary(e.stdout, rep); err != nil {
		return err
	}
	if *out != "" && !*quiet {
		fmt.Fprintf(e.stderr, "report written to %s\n", *out)
	}
	switch {
	case len(rep.Invalid) > 0:
		return runError{exitInvalid, "invalid run: " + strings.Join(rep.Invalid, "; ")}
	case !scenario.Passed(rep):
		return runError{exitFailed, "thresholds failed"}
	}
	return nil
}

// phaseSummary describes the phases in one line: "warmup 5s 20/s→200/s, steady 10s 200/s".
func phaseSummary(s *scenario.Scenario) string {
	var parts []string
	var total time.Duration
	for _, p := range s.Phases {
		r := p.From.String()
		if p.From != p.To {
			r += "→" + p.To.String()
		}
		parts = append(parts, fmt.Sprintf("%s %v %s", p.Name, p.Duration, r))
		total += p.Duration
	}
	return strings.Join(parts, ", ") + fmt.Sprintf(" (%v)", total)
}

// writeReport writes the JSON report to path.
func writeReport(path string, rep *metrics.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if err := rep.WriteJSON(f); err != nil {
		f.Close()
		return fmt.Errorf("--out %s: %w", path, err)
	}
	return f.Close()
}
