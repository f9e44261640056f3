package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shadowload/shadowload/internal/load"
	"github.com/shadowload/shadowload/metrics"
	"github.com/shadowload/shadowload/scenario"
)

// Options configure Run. The zero value runs quietly and writes no report.
type Options struct {
	// Out, when set, is the path of the JSON report. It is checked before
	// the first connection and written whatever happens once the run has
	// started: a signal, a dead target, a panic.
	Out string
	// Log, when set, receives what the run sets up (the embedded emulator,
	// provisioning, connects), the stacks of panics, and — when Live is
	// nil — a plain progress line every ProgressEvery, for logs and CI.
	Log io.Writer
	// Live, when set, receives a progress line every second, for a
	// terminal that rewrites one line.
	Live func(line string)
	// ProgressEvery is the period of the plain progress lines on Log;
	// default 10s.
	ProgressEvery time.Duration
	// Seed fixes the generated payload values; runs with the same seed send
	// the same fields.
	Seed int64
	// Shard, when not the zero value, runs one slice of the fleet against
	// the scenario's endpoint (see load.Shard): the things of fleet index
	// Shard.Index modulo Shard.Count, at the connect rate's share, and, for
	// shard 0 only, the observers. Its report is one input of Merge.
	Shard load.Shard
	// StartAt, when set, is when the schedule starts on the wall clock, for
	// shards that must line up; it must be in the future.
	StartAt time.Time
	// Outputs are further files written from the report, such as HTML or
	// JUnit: checked before the first connection and written, as Out is,
	// whatever happens once the run has started.
	Outputs []Output
	// OnInterval, when set, receives every interval the run collects, and
	// the last partial one: live metrics feed on it.
	OnInterval func(metrics.Interval)
	// OnProgress, when set, receives the run's state once a second, with
	// its totals so far and every threshold judged on them: a live
	// dashboard feeds on it. It is called on the run's ticker: keep it
	// short.
	OnProgress func(Progress)

	// onTick, when set, also receives the engine's progress each second:
	// tests act on the target at chosen points of the schedule with it.
	onTick func(load.Progress)
}

// errAborted is the cause a run is stopped with when an abortOnFail
// threshold fails.
var errAborted = errors.New("an abortOnFail threshold failed")

// Run runs the scenario and judges it. Whatever stops the run once it has
// started, it returns the report (written to Options.Out too), with an
// error that matches ErrInvalid when the run cannot be trusted and
// ErrThresholds when a threshold failed; nil means it passed. An error
// matching ErrSetup comes with no report: the run did not start. Neither
// does a run interrupted while it was being set up, which matches
// ErrInvalid.
func Run(ctx context.Context, s *scenario.Scenario, opts Options) (*metrics.Report, error) {
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	ths, err := thresholds(s)
	if err != nil {
		return nil, setupError(err)
	}
	gen, err := s.Generator(opts.Seed)
	if err != nil {
		return nil, setupError(err)
	}
	if err := checkShard(s, opts); err != nil {
		return nil, setupError(err)
	}
	files, err := openOutputs(opts)
	if err != nil {
		return nil, setupError(err)
	}
	tgt, err := prepareTarget(ctx, s, opts.Shard, logw)
	if err != nil {
		files.discard()
		if ctx.Err() != nil {
			// Stopped while setting up: not the user's mistake, and no run.
			return nil, invalidError(fmt.Errorf("invalid run: interrupted before it started (%v)", context.Cause(ctx)))
		}
		return nil, setupError(err)
	}
	defer tgt.close()

	cfg := engineConfig(s, gen, tgt)
	cfg.Shard, cfg.FleetSize, cfg.StartAt = opts.Shard, s.Fleet.Things, opts.StartAt
	if !opts.Shard.Whole() {
		cfg.ConnectRate /= float64(opts.Shard.Count)
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w := &watch{opts: opts, logw: logw, ths: ths, cancel: cancel}
	cfg.Tick = w.tick
	if opts.Shard.Whole() {
		fmt.Fprintf(logw, "connecting %d things at %s to %s\n", len(cfg.Things), s.Fleet.ConnectRate, tgt.transport.Endpoint)
	} else {
		fmt.Fprintf(logw, "shard %d/%d: connecting %d of the %d things at %.4g/s to %s\n",
			opts.Shard.Index, opts.Shard.Count, len(cfg.Things), s.Fleet.Things, cfg.ConnectRate, tgt.transport.Endpoint)
	}
	res, runErr := load.Run(runCtx, cfg)
	if res == nil {
		files.discard()
		return nil, setupError(runErr)
	}
	rep := res.Report
	rep.Config = record(s)
	for _, p := range res.Panics {
		fmt.Fprintf(logw, "internal error: %s\n", p)
	}
	w.flush(rep.Intervals)
	rep.Invalid = append(rep.Invalid, invalidReasons(s, tgt, res, runErr, !opts.Shard.Whole())...)
	rep.Aborted = w.abortedBy()
	metrics.Evaluate(rep, thresholdsOf(ths))
	rep.Verdict = verdict(rep)
	for _, f := range files {
		if err := f.write(rep); err != nil {
			rep.Invalid = append(rep.Invalid, "a report was not written: "+err.Error())
			rep.Verdict = verdict(rep)
		} else {
			fmt.Fprintf(logw, "%s written to %s\n", f.what, f.Path)
		}
	}
	return rep, outcome(rep)
}

// outcome is the error a judged report's verdict calls for: nil for a
// pass, ErrInvalid for an invalid run, ErrThresholds for a failed one.
func outcome(rep *metrics.Report) error {
	switch rep.Verdict {
	case verdictInvalid:
		return invalidError(fmt.Errorf("invalid run: %s", strings.Join(rep.Invalid, "; ")))
	case verdictFail:
		if rep.Aborted != "" {
			return &kindError{ErrThresholds, fmt.Errorf("aborted: %s", rep.Aborted)}
		}
		return &kindError{ErrThresholds, fmt.Errorf("thresholds failed: %s", failedList(rep))}
	}
	return nil
}

// The verdicts a report records.
const (
	verdictPass    = "pass"
	verdictFail    = "fail"
	verdictInvalid = "invalid"
)

// verdict judges a report: invalid first, whatever its thresholds say;
// then failed when a threshold failed or aborted the run.
func verdict(rep *metrics.Report) string {
	switch {
	case len(rep.Invalid) > 0:
		return verdictInvalid
	case rep.Aborted != "" || !passed(rep):
		return verdictFail
	}
	return verdictPass
}

// threshold is one parsed threshold with its abort settings.
type threshold struct {
	metrics.Threshold
	abort bool
	delay time.Duration
}

// thresholds parses the scenario's thresholds.
func thresholds(s *scenario.Scenario) ([]threshold, error) {
	out := make([]threshold, 0, len(s.Thresholds))
	for _, spec := range s.Thresholds {
		th, err := spec.Threshold()
		if err != nil {
			return nil, fmt.Errorf("%s:%d:%d: thresholds: %w", s.Source, spec.Line, spec.Column, err)
		}
		out = append(out, threshold{Threshold: th, abort: spec.AbortOnFail, delay: spec.DelayAbortEval})
	}
	return out, nil
}

func thresholdsOf(ths []threshold) []metrics.Threshold {
	out := make([]metrics.Threshold, len(ths))
	for i, t := range ths {
		out[i] = t.Threshold
	}
	return out
}

// invalidReasons says why the run cannot be trusted beyond what the engine
// found itself (panics, observers that lost their connection): nothing
// connected, a stop before the schedule's end, and every validity bound
// the run broke.
func invalidReasons(s *scenario.Scenario, tgt *target, res *load.Result, runErr error, sharded bool) []string {
	rep := res.Report
	cause := res.StopCause
	interrupted := cause != nil && !errors.Is(cause, errAborted) && !errors.Is(cause, load.ErrPanic)
	switch {
	case interrupted && runErr != nil:
		return []string{fmt.Sprintf("interrupted while connecting, before the schedule started (%v)", cause)}
	case errors.Is(runErr, load.ErrNothingConnected):
		return []string{noConnection(rep, tgt.transport.Endpoint)}
	case runErr != nil:
		return []string{runErr.Error()}
	}
	var out []string
	if interrupted {
		out = append(out, fmt.Sprintf("interrupted after %v of the %v schedule (%v)", rep.Duration.Round(time.Millisecond), res.Planned, cause))
	}
	v := s.Validity
	if sharded {
		// Observers hear the whole fleet from shard 0 while each shard
		// counts what its own things owe them: the fan-out books close
		// only in the merge, which checks them.
		v.FanoutLoss = 1
	}
	return append(out, v.Check(rep)...)
}

// noConnection explains a run where no thing connected: the target was
// unreachable, or it refused every connection, with the count of each
// cause and the first error of each in full.
func noConnection(rep *metrics.Report, endpoint string) string {
	var causes []string
	onlyDial := true
	for _, name := range slices.Sorted(maps.Keys(rep.Counters)) {
		reason, ok := strings.CutPrefix(name, "connect.failed.")
		if !ok || rep.Counters[name] == 0 {
			continue
		}
		onlyDial = onlyDial && reason == "dial"
		c := fmt.Sprintf("%d %s", rep.Counters[name], reason)
		if first := rep.Errors[name]; first != "" {
			c += " (first: " + first + ")"
		}
		causes = append(causes, c)
	}
	switch {
	case len(causes) == 0:
		return "no thing connected: no connect was attempted"
	case onlyDial:
		return fmt.Sprintf("target unreachable: %s: %s", endpoint, strings.Join(causes, ", "))
	}
	return "no thing connected: connect failures: " + strings.Join(causes, ", ")
}

// passed reports whether every threshold of a report passed.
func passed(rep *metrics.Report) bool {
	for _, t := range rep.Thresholds {
		if !t.Pass {
			return false
		}
	}
	return true
}

// failedList names the failed thresholds.
func failedList(rep *metrics.Report) string {
	var out []string
	for _, t := range rep.Thresholds {
		if !t.Pass {
			out = append(out, fmt.Sprintf("%s %s (%s)", t.Metric, t.Expr, t.Actual))
		}
	}
	return strings.Join(out, "; ")
}

// Progress is the run's state once a second, for OnProgress.
type Progress struct {
	// Phase is the running phase, or "connect" before the schedule starts.
	Phase string
	// Elapsed is the time since the schedule started, or since the run
	// started while connecting.
	Elapsed           time.Duration
	Connected, Things int
	// TargetRate is the schedule's rate now, requests per second.
	TargetRate float64
	// Totals are the run's totals so far: every counter, and every latency
	// metric that recorded something, with its histogram.
	Totals *metrics.Report
	// Thresholds are the scenario's thresholds judged on Totals; one that
	// cannot be decided yet is Undecided.
	Thresholds []metrics.ThresholdResult
}

// watch follows a run once a second: it shows progress and stops the run
// when an abortOnFail threshold fails.
type watch struct {
	opts   Options
	logw   io.Writer
	ths    []threshold
	cancel context.CancelCauseFunc
	ticks  int

	mu      sync.Mutex
	aborted string
	fed     time.Time // the end of the last interval given to OnInterval
	// latencies are the latency metrics that recorded something so far,
	// for OnProgress's totals.
	latencies map[string]bool
}

func (w *watch) tick(p load.Progress) {
	if w.opts.onTick != nil {
		w.opts.onTick(p)
	}
	w.feed(p.Interval)
	line := metrics.FormatProgress(p.Interval, metrics.Progress{
		Phase: p.Phase, Elapsed: p.Elapsed, Connected: p.Connected, Things: p.Things, TargetRate: p.TargetRate,
	})
	w.ticks++
	every := w.opts.ProgressEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	switch {
	case w.opts.Live != nil:
		w.opts.Live(line)
	case w.ticks%max(int(every/time.Second), 1) == 0:
		fmt.Fprintln(w.logw, line)
	}
	if p.Phase != "connect" {
		w.judge(p)
	}
	w.progress(p)
}

// progress gives OnProgress the run's totals and thresholds.
func (w *watch) progress(p load.Progress) {
	if w.opts.OnProgress == nil || p.Totals == nil {
		return
	}
	if w.latencies == nil {
		w.latencies = map[string]bool{}
	}
	for name, s := range p.Interval.Latencies {
		if s.Count > 0 {
			w.latencies[name] = true
		}
	}
	for _, t := range w.ths {
		if t.IsLatency() {
			w.latencies[t.Metric] = true
		}
	}
	totals := p.Totals(slices.Sorted(maps.Keys(w.latencies))...)
	out := Progress{Phase: p.Phase, Elapsed: p.Elapsed, Connected: p.Connected, Things: p.Things,
		TargetRate: p.TargetRate, Totals: totals}
	for _, t := range w.ths {
		out.Thresholds = append(out.Thresholds, t.Evaluate(totals))
	}
	w.opts.OnProgress(out)
}

// judge evaluates the abortOnFail thresholds past their delay on the totals
// so far, and stops the run at the first that fails. A threshold the totals
// cannot decide yet (no values) does not stop it.
func (w *watch) judge(p load.Progress) {
	var due []threshold
	var latencies []string
	for _, t := range w.ths {
		if t.abort && p.Elapsed >= t.delay {
			due = append(due, t)
			if t.IsLatency() {
				latencies = append(latencies, t.Metric)
			}
		}
	}
	if len(due) == 0 || p.Totals == nil {
		return
	}
	snap := p.Totals(latencies...)
	for _, t := range due {
		if res := t.Evaluate(snap); !res.Pass && !res.Undecided {
			w.mu.Lock()
			if w.aborted == "" {
				w.aborted = fmt.Sprintf("%s %s failed at %v (%s)", t.Metric, t.Expr, p.Elapsed.Round(time.Second), res.Actual)
			}
			w.mu.Unlock()
			w.cancel(errAborted)
			return
		}
	}
}

// feed gives one interval to OnInterval.
func (w *watch) feed(iv metrics.Interval) {
	if w.opts.OnInterval == nil {
		return
	}
	w.mu.Lock()
	w.fed = iv.At
	w.mu.Unlock()
	w.opts.OnInterval(iv)
}

// flush gives OnInterval the intervals collected after the last tick: the
// run's last, partial one.
func (w *watch) flush(ivs []metrics.Interval) {
	w.mu.Lock()
	fed := w.fed
	w.mu.Unlock()
	for _, iv := range ivs {
		if iv.At.After(fed) {
			w.feed(iv)
		}
	}
}

func (w *watch) abortedBy() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.aborted
}
