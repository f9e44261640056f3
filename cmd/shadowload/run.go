package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/shadowload/shadowload/internal/runner"
	"github.com/shadowload/shadowload/metrics"
	"github.com/shadowload/shadowload/scenario"
)

func runRun(e *env, args []string) error {
	fs := newFlagSet(e, "run",
		"shadowload run [flags] [FILE]",
		`Run a scenario: bring up the fleet (each thing with its own certificate and
mutual-TLS MQTT connection), drive the phases on an open-model schedule and
print a summary of what the shadow service did: update→accepted/rejected
latency from the intended send time (corrected) and from the actual send
(uncorrected), rejections by code, time-outs, deltas at the devices and fan-out
to observers, per phase too, then read every shadow back and give the verdict.

Without FILE it runs scenarios/quickstart.yaml. With no endpoint in the file
or on the command line the target is the embedded AWS IoT Core emulator, on a
free loopback port with a fresh temporary fleet: no AWS account needed.

Everything that can be checked is checked before the first connection. Once
the run has started, the summary (and --out's report) are written whatever
happens: SIGINT or SIGTERM end the run within a few seconds with its report.

Exit codes: 0 the run was valid and every threshold passed; 1 a threshold
failed (or an abortOnFail threshold stopped the run); 2 fix something before
a run (flags, scenario, bundles, output path, the embedded emulator); 3 the
run happened and cannot be trusted (target unreachable or stopped answering,
slots skipped, deliveries or writes lost, version order broken, generator
behind schedule, interrupted, report not written). Use a built binary in CI:
"go run" turns every non-zero exit code into 1.`,
		`  shadowload run
  shadowload run scenarios/desired-delta.yaml --out report.json
  shadowload run scenarios/steady-fleet.yaml --things 2000 --rate 10000/s --duration 1m
  shadowload run scenarios/aws-example.yaml --endpoint abc123-ats.iot.us-east-1.amazonaws.com:8883 --bundles ./bundles`)
	over := addOverrides(fs)
	out := fs.String("out", "", "write the full report (counters, intervals, HDR histograms) as JSON to this file")
	quiet := fs.Bool("quiet", false, "no progress and no setup messages on stderr")
	progressEvery := fs.Duration("progress-every", 10*time.Second, "period of the plain progress lines when stderr is not a terminal")
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
	if err := over.apply(fs, "run", s); err != nil {
		return err
	}
	if *progressEvery < time.Second {
		return usagef("run: --progress-every %v: want 1s or more", *progressEvery)
	}

	ctx, stop := e.interruptible()
	defer stop()
	opts := runner.Options{Out: *out, Seed: *seed, ProgressEvery: *progressEvery}
	if !*quiet {
		opts.Log = e.stderr
		if e.stderrTerminal {
			opts.Live = func(line string) { fmt.Fprintf(e.stderr, "\r\033[K%s", line) }
		}
		fmt.Fprintf(e.stderr, "scenario %s (%s): %d things, %s\n", s.Name, s.Source, s.Fleet.Things, phaseSummary(s))
	}
	stopProfile, err := startCPUProfile(*cpuprofile)
	if err != nil {
		return usageError{err}
	}
	rep, err := runner.Run(ctx, s, opts)
	if perr := stopProfile(); perr != nil {
		fmt.Fprintf(e.stderr, "shadowload: %v\n", perr)
	}
	if opts.Live != nil {
		fmt.Fprint(e.stderr, "\r\033[K")
	}
	if rep != nil {
		if werr := metrics.WriteSummary(e.stdout, rep); werr != nil {
			fmt.Fprintf(e.stderr, "shadowload: %v\n", werr)
		}
	}
	return err
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

// interruptible returns a context that the first SIGINT or SIGTERM cancels,
// with the signal as its cause, so a run ends promptly with its report; a
// second signal exits at once with exitInvalid.
func (e *env) interruptible() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	var sigs <-chan os.Signal
	stopNotify := func() {}
	if e.notify != nil {
		sigs, stopNotify = e.notify()
	}
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			fmt.Fprintf(e.stderr, "\n%v: stopping the run; its report follows (a second signal exits at once)\n", sig)
			cancel(fmt.Errorf("interrupted by %v", sig))
		case <-done:
			return
		}
		select {
		case <-sigs:
			if e.exit != nil {
				e.exit(exitInvalid)
			}
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		stopNotify()
		cancel(nil)
	}
}
