package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/shadowload/shadowload/internal/dashboard"
	"github.com/shadowload/shadowload/internal/load"
	"github.com/shadowload/shadowload/internal/runner"
	"github.com/shadowload/shadowload/metrics"
	"github.com/shadowload/shadowload/metrics/prom"
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
"go run" turns every non-zero exit code into 1.

Reports: --out (JSON with every histogram, which "report", "compare" and
"merge" read), --html (one self-contained page with charts), --hlog
(HdrHistogram interval log), --junit (a test case per threshold and one for
validity). --metrics-addr serves live Prometheus metrics during the run.

Shards: --shard i/N runs slice i of N of the fleet (the things of index i
mod N, with the slots the whole schedule gives them) against a shared
--endpoint; --shards N takes i from JOB_COMPLETION_INDEX, as a Kubernetes
Indexed Job sets it. Give every shard the same --start-at so that their
schedules and intervals line up, then "shadowload merge" their reports.

`+envHelp,
		`  shadowload run
  shadowload run scenarios/desired-delta.yaml --out report.json --html report.html
  shadowload run scenarios/steady-fleet.yaml --things 2000 --rate 10000/s --duration 1m
  shadowload run scenarios/aws-example.yaml --endpoint abc123-ats.iot.us-east-1.amazonaws.com:8883 --bundles ./bundles
  shadowload run scenarios/steady-fleet.yaml --endpoint 127.0.0.1:8883 --bundles data/bundles \
      --shard 0/2 --start-at 2026-01-02T15:04:05Z --out shard-0.json
  SHADOWLOAD_SHARDS=3 JOB_COMPLETION_INDEX=1 SHADOWLOAD_OUT=shard-1.json shadowload run scenario.yaml`)
	over := addOverrides(fs)
	out := fs.String("out", "", "write the full report (counters, intervals, HDR histograms) as JSON to this file")
	html := fs.String("html", "", "write the report as one self-contained HTML page with charts to this file")
	hlog := fs.String("hlog", "", "write the latencies as an HdrHistogram interval log (.hlog), one histogram per metric per second")
	junit := fs.String("junit", "", "write the verdict as JUnit XML: a test case per threshold and one for validity")
	metricsAddr := fs.String("metrics-addr", "", "serve live Prometheus metrics on this address's /metrics during the run, e.g. 127.0.0.1:9464")
	metricsLinger := fs.Duration("metrics-linger", 0, "keep serving --metrics-addr this long after the run so a last scrape sees the final counts (a signal ends it)")
	dashboardAddr := fs.String("dashboard", "", "serve a live page of the run (progress, charts, thresholds) on this address, e.g. "+dashboard.DefaultListen)
	dashboardLinger := fs.Duration("dashboard-linger", 0, "keep serving --dashboard this long after the run, with the final report to download (a signal ends it); unset, 10m when stderr is a terminal and 0 otherwise, so a CI job never waits for a viewer")
	shardFlag := fs.String("shard", "", "run shard i of N of the fleet, as i/N (e.g. 0/3), against a shared --endpoint")
	shards := fs.Int("shards", 0, "run one of N shards, its index from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job)")
	startAt := fs.String("start-at", "", "start the schedule at this time (RFC 3339, e.g. 2026-01-02T15:04:05Z), the same for every shard")
	quiet := fs.Bool("quiet", false, "no progress and no setup messages on stderr")
	progressEvery := fs.Duration("progress-every", 10*time.Second, "period of the plain progress lines when stderr is not a terminal")
	seed := fs.Int64("seed", 1, "seed of the generated payload values")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile (go tool pprof) to this file")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := applyEnv(fs, e.getenv); err != nil {
		return err
	}
	file, err := scenarioArg(fs, "run")
	if err != nil {
		return err
	}
	if fs.NArg() == 0 && e.getenv != nil && e.getenv("SHADOWLOAD_SCENARIO") != "" {
		file = e.getenv("SHADOWLOAD_SCENARIO")
	}
	shard, err := parseShard(*shardFlag, *shards, e.getenv)
	if err != nil {
		return err
	}
	var start time.Time
	if *startAt != "" {
		if start, err = time.Parse(time.RFC3339Nano, *startAt); err != nil {
			return usagef("run: --start-at %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", *startAt)
		}
	}
	if *metricsLinger < 0 {
		return usagef("run: --metrics-linger %v: want 0 or more", *metricsLinger)
	}
	if *dashboardLinger < 0 {
		return usagef("run: --dashboard-linger %v: want 0 or more", *dashboardLinger)
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
	opts := runner.Options{Out: *out, Seed: *seed, ProgressEvery: *progressEvery, Shard: shard, StartAt: start}
	opts.Outputs = fileOutputs(map[string]string{"--html": *html, "--hlog": *hlog, "--junit": *junit})
	if *metricsAddr != "" {
		label := ""
		if !shard.Whole() {
			label = fmt.Sprintf("%d/%d", shard.Index, shard.Count)
		}
		exp := prom.New(label)
		bound, stopServer, err := prom.Serve(*metricsAddr, exp)
		if err != nil {
			return usageError{fmt.Errorf("run: %w", err)}
		}
		defer stopServer()
		opts.OnInterval = exp.Observe
		if !*quiet {
			fmt.Fprintf(e.stderr, "metrics on http://%s/metrics\n", bound)
		}
	}
	var dash *dashboard.Dashboard
	if *dashboardAddr != "" {
		var planned time.Duration
		for _, p := range s.Phases {
			planned += p.Duration
		}
		dash, err = dashboard.Start(dashboard.Options{Listen: *dashboardAddr, Title: s.Name, Planned: planned})
		if err != nil {
			return usageError{fmt.Errorf("run: %w", err)}
		}
		defer dash.Close()
		opts.OnInterval = both(opts.OnInterval, dash.Interval)
		opts.OnProgress = dash.Progress
		fmt.Fprintf(e.stderr, "dashboard on %s\n", dash.URL())
	}
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
		if dash != nil {
			dash.Finish(rep)
		}
		linger := time.Duration(0)
		if *metricsAddr != "" {
			linger = *metricsLinger
		}
		if dash != nil {
			d := *dashboardLinger
			if !fs.Changed("dashboard-linger") && e.stderrTerminal {
				d = interactiveDashboardLinger
			}
			linger = max(linger, d)
			if linger > 0 {
				fmt.Fprintf(e.stderr, "dashboard keeps the final report at %s for %v (--dashboard-linger); Ctrl-C to leave now\n", dash.URL(), linger)
			}
		}
		lingerFor(ctx, linger)
	}
	return err
}

// both calls a and then b, either of which may be nil.
func both[T any](a, b func(T)) func(T) {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(v T) { a(v); b(v) }
}

// interactiveDashboardLinger is how long a run started from a terminal keeps
// its dashboard up afterwards, unless --dashboard-linger says otherwise.
const interactiveDashboardLinger = 10 * time.Minute

// lingerFor waits d, or until ctx ends (a signal).
func lingerFor(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// parseShard reads --shard i/N, or --shards N with i from
// JOB_COMPLETION_INDEX.
func parseShard(spec string, count int, getenv func(string) string) (load.Shard, error) {
	switch {
	case spec != "" && count != 0:
		return load.Shard{}, usagef("run: --shard and --shards both given: want one")
	case spec != "":
		var sh load.Shard
		i, n, ok := strings.Cut(spec, "/")
		var err1, err2 error
		sh.Index, err1 = strconv.Atoi(i)
		sh.Count, err2 = strconv.Atoi(n)
		if !ok || err1 != nil || err2 != nil || sh.Count < 1 {
			return load.Shard{}, usagef("run: --shard %q: want i/N such as 0/3", spec)
		}
		if err := sh.Validate(); err != nil {
			return load.Shard{}, usagef("run: --shard: %v", err)
		}
		return sh, nil
	case count != 0:
		idx := ""
		if getenv != nil {
			idx = getenv("JOB_COMPLETION_INDEX")
		}
		i, err := strconv.Atoi(idx)
		if err != nil {
			return load.Shard{}, usagef("run: --shards %d: JOB_COMPLETION_INDEX=%q: want the shard's index, as a Kubernetes Indexed Job sets it", count, idx)
		}
		sh := load.Shard{Index: i, Count: count}
		if err := sh.Validate(); err != nil {
			return load.Shard{}, usagef("run: --shards: %v", err)
		}
		return sh, nil
	}
	return load.Shard{}, nil
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
