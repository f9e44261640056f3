package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shadowload/shadowload/metrics"
	"github.com/shadowload/shadowload/shadow"
	"golang.org/x/time/rate"
)

// Progress is the run's state once a second, for a live progress line.
type Progress struct {
	Phase      string        // the running phase, or "connect" before the schedule starts
	Elapsed    time.Duration // since the schedule started, or since the run started while connecting
	Connected  int
	Things     int
	TargetRate float64          // scheduled requests per second now
	Interval   metrics.Interval // what was sent and measured in the last second
	// Totals gives the run's totals so far, encoding the latency metrics
	// named, for judging the run while it goes on.
	Totals func(latencies ...string) *metrics.Report
}

// Result is what a run produced.
type Result struct {
	Report    *metrics.Report
	Things    int
	Connected int // things connected when the schedule started
	// StopCause says why the run ended before its schedule did — the
	// cause its context was cancelled with (a signal, an aborting
	// threshold), or a goroutine's panic — and is nil when it ran to the end.
	StopCause error
	// Planned is the length of the whole schedule.
	Planned time.Duration
	// Panics holds what panicked during the run, each with its stack.
	Panics []string
}

// ErrPanic is the StopCause of a run stopped by a panic in one of its
// goroutines.
var ErrPanic = errors.New("a goroutine of the run panicked")

// scheduleLead is how long after the fleet is up the schedule begins.
const scheduleLead = 100 * time.Millisecond

// Errors of Run that leave a report of what happened but no run to judge.
var (
	// ErrNothingConnected is returned when no thing could connect.
	ErrNothingConnected = errors.New("no thing could connect")
	// ErrObserverConnect is returned when an observer connection could not
	// be made: without it fan-out cannot be measured.
	ErrObserverConnect = errors.New("an observer could not connect")
)

// runner holds the state of one run.
type runner struct {
	cfg          Config
	set          *metrics.Set
	ids          *ids
	sched        *Schedule
	limiter      *rate.Limiter // every connect attempt of the run
	start        time.Time
	epoch        int64        // start in ns since the Unix epoch: a stamp is epoch + clock
	schedStartNs atomic.Int64 // when slot 0 is due, in ns from start
	stopNs       atomic.Int64 // when the run was stopped, in ns from start; 0 while it goes on
	things       []*thing
	thingIndex   map[string]int // thing name → index, read-only once built
	workers      []*worker
	observers    []*observer
	app          *app // writes to things while they are away; nil when no group does
	ctx          context.Context
	cancel       context.CancelCauseFunc
	redialCtx    context.Context // ends the redials once the schedule is over
	stopRedial   context.CancelFunc
	redials      sync.WaitGroup

	connMu  sync.Mutex
	connRec *metrics.Recorder // connects and subscribes, from many goroutines under connMu

	connected atomic.Int64 // things connected by the initial ramp
	up        atomic.Int64 // things connected now

	everConnected atomic.Bool // some connection has succeeded

	errMu  sync.Mutex
	errors map[string]string // the first error of each kind, in full
	panics []string          // what panicked, with its stack
}

// Run connects the observers and the fleet, drives the schedule and returns
// the report. It returns a Result with the report of what happened whenever
// it got as far as connecting, with an error when there was no run to judge
// (ErrNothingConnected, ErrObserverConnect). A run stopped early — its
// context cancelled, or a panic — still ends every request it sent and
// reports the time it really ran; the reasons it cannot be trusted are in
// Report.Invalid.
func Run(ctx context.Context, c Config) (*Result, error) {
	cfg, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	if now := cfg.Clock.Now(); !cfg.StartAt.IsZero() && !cfg.StartAt.After(now) {
		return nil, fmt.Errorf("start at %s: %v in the past; want a time after the run starts", cfg.StartAt.UTC().Format(time.RFC3339Nano), now.Sub(cfg.StartAt).Round(time.Millisecond))
	}
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	return r.run(ctx)
}

// newRunner lays out the schedule, declares the metrics and builds the
// things and workers of a run.
func newRunner(cfg Config) (*runner, error) {
	phases := make([]Phase, len(cfg.Phases))
	names := make([]string, len(cfg.Phases))
	for i, p := range cfg.Phases {
		phases[i], names[i] = p.Phase, p.Name
	}
	sched, err := NewSchedule(phases)
	if err != nil {
		return nil, err
	}
	r := &runner{
		cfg:     cfg,
		set:     metrics.NewSet(),
		sched:   sched,
		limiter: rate.NewLimiter(rate.Limit(cfg.ConnectRate), 1),
		errors:  map[string]string{},
	}
	r.ids = declare(r.set, names, cfg.Observers)
	r.connRec = r.set.NewRecorder()
	r.build()
	return r, nil
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	clk := r.cfg.Clock
	collector := r.set.Collector()
	r.start = clk.Now()
	r.epoch = r.start.UnixNano()
	cpuStart := cpuTime()

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.ctx, r.cancel = runCtx, cancel
	r.redialCtx, r.stopRedial = context.WithCancel(runCtx)
	defer r.stopRedial()
	stopWatch := context.AfterFunc(runCtx, func() { r.stopNs.CompareAndSwap(0, max(int64(clk.Now().Sub(r.start)), 1)) })
	defer stopWatch()

	var wg sync.WaitGroup
	// Workers handle connection events from the first connect on; the
	// schedule starts once the fleet is up.
	r.schedStartNs.Store(math.MaxInt64 / 2)
	started := make(chan struct{})
	for i, w := range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.finish()
			defer r.recoverPanic(fmt.Sprintf("worker %d", i))
			w.idle(runCtx, started)
			w.run(runCtx)
		}()
	}
	finishWorkers := func() {
		wg.Wait()
		r.stopRedial()
		r.redials.Wait()
		for _, w := range r.workers {
			w.endAll()
		}
	}

	if err := r.connectObservers(runCtx); err != nil {
		cancel(err)
		finishWorkers()
		r.disconnectObservers()
		return r.result(collector, cpuStart, 0), err
	}
	memBefore := liveMemory()
	stopTicks := make(chan struct{})
	ticksDone := make(chan struct{})
	go r.tick(collector, stopTicks, ticksDone)
	r.connectFleet(runCtx)
	connected := int(r.connected.Load())
	var memPerThing float64
	if connected > 0 {
		memPerThing = float64(liveMemory()-memBefore) / float64(connected)
	}
	if connected == 0 {
		cancel(ErrNothingConnected)
		finishWorkers()
		close(stopTicks)
		<-ticksDone
		r.disconnectObservers()
		r.disconnectThings()
		return r.result(collector, cpuStart, 0), ErrNothingConnected
	}
	// Slot 0 is due a moment after the fleet is up, so every worker is
	// already waiting for it rather than racing its own wake-up to it; or
	// at the time every shard was given, come what may.
	if r.cfg.StartAt.IsZero() {
		r.schedStartNs.Store(int64(clk.Now().Sub(r.start) + scheduleLead))
	} else {
		r.schedStartNs.Store(int64(r.cfg.StartAt.Sub(r.start)))
	}
	close(started)
	if plan := r.sched.departures(r.cfg.Phases, len(r.things)); len(plan) > 0 {
		// Counted with the redials: it ends with them, when the schedule
		// is over or the run stops.
		r.redials.Add(1)
		go func() {
			defer r.redials.Done()
			r.churn(r.redialCtx, plan)
		}()
	}

	finishWorkers()
	if r.app != nil {
		r.app.finish()
	}
	groups, perFilter := r.expectedFanout()
	if runCtx.Err() == nil {
		r.waitFanout(groups)
	}
	close(stopTicks)
	<-ticksDone

	for g, n := range groups {
		ids := r.ids.fanout[g]
		r.connRec.Add(ids.expected, n)
		for k, fid := range ids.filters {
			r.connRec.Add(fid.expected, perFilter[g][k])
		}
	}
	r.disconnectObservers()
	r.disconnectThings()
	res := r.result(collector, cpuStart, connected)
	res.Report.Generator.MemoryPerThing = max(memPerThing, 0)
	return res, nil
}

// result collects the final report, with the facts that make a run
// untrustworthy whatever its bounds: it stopped early, a goroutine
// panicked, an observer lost its connection.
func (r *runner) result(c *metrics.Collector, cpuStart time.Duration, connected int) *Result {
	clk := r.cfg.Clock
	var stale, foreign int64
	for _, w := range r.workers {
		stale += w.stale.Load()
		foreign += w.foreign.Load()
	}
	now := clk.Now()
	rep := c.FinalAt(now)
	rep.Start = r.start
	rep.Duration, rep.Phases = r.ran()
	cpu := cpuTime() - cpuStart
	wall := now.Sub(r.start)
	cores := runtime.GOMAXPROCS(0)
	rep.Generator = &metrics.Generator{CPUSeconds: cpu.Seconds(), Cores: cores}
	if wall > 0 {
		rep.Generator.Utilization = cpu.Seconds() / (wall.Seconds() * float64(cores))
	}
	if lag, ok := rep.Latencies["schedule.lag"]; ok {
		rep.Generator.SchedulerLag = lag.Summary
	}
	rep.Counters["replies.stale"] = stale
	rep.Counters["messages.foreign"] = foreign
	rep.Counters["things"] = int64(len(r.things))
	if !r.cfg.Shard.Whole() {
		rep.Shard = &metrics.Shard{Index: r.cfg.Shard.Index, Count: r.cfg.Shard.Count}
	}
	for _, t := range r.things {
		rep.Counters["things."+t.protocol.String()]++
	}
	rep.Counters["things.connected"] = int64(connected)

	r.errMu.Lock()
	if len(r.errors) > 0 {
		rep.Errors = make(map[string]string, len(r.errors))
		for k, v := range r.errors {
			rep.Errors[k] = v
		}
	}
	for _, p := range r.panics {
		rep.Invalid = append(rep.Invalid, "internal error: "+firstLine(p))
	}
	panics := append([]string(nil), r.panics...)
	r.errMu.Unlock()
	var cause error
	if r.stopNs.Load() != 0 && r.ctx.Err() != nil {
		cause = context.Cause(r.ctx)
		if errors.Is(cause, ErrNothingConnected) || errors.Is(cause, ErrObserverConnect) {
			cause = nil // the run ended itself: there was nothing to run
		}
	}
	for _, o := range r.observers {
		if o.lost.Load() {
			rep.Invalid = append(rep.Invalid, fmt.Sprintf("observer group %q lost a connection: its fan-out counts are incomplete", r.cfg.Observers[o.group].Name))
			break
		}
	}
	return &Result{Report: rep, Things: len(r.things), Connected: connected, StopCause: cause, Planned: r.sched.Duration(), Panics: panics}
}

// ran gives how long the schedule really ran — all of it, or up to the
// moment the run was stopped — and its phases as they ran.
func (r *runner) ran() (time.Duration, []metrics.PhaseReport) {
	total := r.sched.Duration()
	schedStart := r.schedStart()
	if stop := time.Duration(r.stopNs.Load()); stop != 0 {
		total = min(total, max(stop-schedStart, 0))
	}
	if schedStart >= math.MaxInt64/4 {
		total = 0 // the schedule never started
	}
	var phases []metrics.PhaseReport
	for _, p := range r.sched.phases {
		d := min(p.Duration, max(total-p.offset, 0))
		phases = append(phases, metrics.PhaseReport{Name: p.Name, Start: p.offset, Duration: d, From: p.From, To: p.To})
	}
	return total, phases
}

// build makes the things and spreads them over the workers: the run's
// thing i belongs to worker i mod W, which also owns every slot of that
// thing (those of its fleet index).
func (r *runner) build() {
	nw := r.cfg.Workers
	r.thingIndex = make(map[string]int, len(r.cfg.Things))
	for i := 0; i < nw; i++ {
		r.workers = append(r.workers, &worker{
			r: r, cfg: &r.cfg, ids: r.ids,
			rec:     r.set.NewRecorder(),
			fields:  r.cfg.Fields(i),
			sleeper: newSleeper(r.cfg.Clock),
		})
	}
	fleetIndex := r.cfg.Shard.Things(r.cfg.FleetSize)
	protocols := r.cfg.Protocols.assign(r.cfg.FleetSize)
	for i, b := range r.cfg.Things {
		w := r.workers[i%nw]
		t := &thing{index: fleetIndex[i], local: int32(len(w.things)), bundle: b, protocol: protocols[fleetIndex[i]], names: r.cfg.Shadows, inflight: newInflight(r.cfg.InFlight)}
		t.shadows = make([]shadowState, len(r.cfg.Shadows))
		for si, name := range r.cfg.Shadows {
			prefix := shadow.Prefix(b.Thing, name)
			for op := Op(0); op < numOps; op++ {
				t.shadows[si].topics[op] = prefix + "/" + op.String()
			}
		}
		w.things = append(w.things, t)
		r.things = append(r.things, t)
		r.thingIndex[b.Thing] = i
	}
}

// recoverPanic, deferred by every goroutine of the run, turns a panic into
// an invalid run instead of a lost one: it keeps what panicked with its
// stack and stops the run, whose report is still written.
func (r *runner) recoverPanic(where string) {
	v := recover()
	if v == nil {
		return
	}
	r.errMu.Lock()
	r.panics = append(r.panics, fmt.Sprintf("%s panicked: %v\n%s", where, v, debug.Stack()))
	r.errMu.Unlock()
	if r.cancel != nil {
		r.cancel(ErrPanic)
	}
}

// noteError keeps the first error of a kind, in full.
func (r *runner) noteError(kind, msg string) {
	r.errMu.Lock()
	if _, ok := r.errors[kind]; !ok {
		r.errors[kind] = msg
	}
	r.errMu.Unlock()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// tick collects an interval each second, with the gauges sampled at its
// end, and reports progress. Intervals end on whole seconds from StartAt
// when it is set, from the run's start otherwise.
func (r *runner) tick(c *metrics.Collector, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	defer r.recoverPanic("the progress ticker")
	clk := r.cfg.Clock
	due := r.start.Add(time.Second)
	if !r.cfg.StartAt.IsZero() {
		m := r.cfg.StartAt.Sub(r.start) % time.Second
		if m <= 0 {
			m += time.Second
		}
		due = r.start.Add(m)
	}
	tm := clk.NewTimer(due.Sub(r.start))
	defer tm.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tm.C():
			for !due.After(now) {
				due = due.Add(time.Second)
			}
			tm.Reset(due.Sub(now))
			elapsed := now.Sub(r.start) - r.schedStart()
			var rate float64
			if elapsed >= 0 {
				rate = r.sched.RateAt(elapsed)
			}
			c.SetGauge(GaugeThingsUp, float64(r.connectedNow()))
			c.SetGauge(GaugeScheduleRate, rate)
			iv := c.Interval(now)
			if r.cfg.Tick == nil {
				continue
			}
			p := Progress{
				Elapsed:    elapsed,
				Connected:  r.connectedNow(),
				Things:     len(r.things),
				Interval:   iv,
				Totals:     c.Snapshot,
				TargetRate: rate,
			}
			if elapsed < 0 {
				// Still connecting: the schedule has not started.
				p.Phase, p.Elapsed = "connect", now.Sub(r.start)
			} else if n := r.sched.PhaseAt(elapsed); n >= 0 {
				p.Phase = r.cfg.Phases[n].Name
			}
			r.cfg.Tick(p)
		}
	}
}

// schedStart is when slot 0 is due, measured from the run's start.
func (r *runner) schedStart() time.Duration { return time.Duration(r.schedStartNs.Load()) }

// connectedNow counts the things whose connection is up.
func (r *runner) connectedNow() int {
	return int(r.up.Load())
}

// waitFanout gives observers up to the request timeout to receive what
// the fleet's books say they are owed (expected, per group) and is still in
// flight to them once the fleet has finished. A delivery that has not come
// by then counts as lost.
func (r *runner) waitFanout(expected []int64) {
	if len(r.observers) == 0 {
		return
	}
	deadline := r.cfg.Clock.Now().Add(r.cfg.Timeout)
	received := make([]int64, len(expected))
	for {
		clear(received)
		for _, o := range r.observers {
			received[o.group] += o.received.Load()
		}
		owed := false
		for g, n := range expected {
			owed = owed || received[g] < n
		}
		if !owed || !r.cfg.Clock.Now().Before(deadline) {
			return
		}
		if !sleep(r.ctx, r.cfg.Clock, 10*time.Millisecond) {
			return
		}
	}
}

// disconnectThings closes the fleet's connections once the workers have
// stopped; what reaches the workers meanwhile is counted (worker.late).
func (r *runner) disconnectThings() {
	for _, w := range r.workers {
		var conns []Conn
		w.locked(func() {
			for _, t := range w.things {
				if t.conn != nil {
					conns = append(conns, t.conn)
				}
			}
		})
		for _, c := range conns {
			_ = c.Close()
		}
	}
}

func (r *runner) disconnectObservers() {
	for _, o := range r.observers {
		_ = o.conn.Close()
	}
}

// liveMemory is the live heap and goroutine stacks after a collection. It is
// read twice a run, around the fleet's connect, never on the hot path.
func liveMemory() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc + ms.StackInuse)
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
