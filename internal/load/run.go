package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/shadowload/shadowload/metrics"
	"github.com/shadowload/shadowload/shadow"
)

// Progress is the run's state once a second, for a live progress line.
type Progress struct {
	Phase      string        // the running phase, or "connect" before the schedule starts
	Elapsed    time.Duration // since the schedule started, or since the run started while connecting
	Connected  int
	Things     int
	TargetRate float64          // scheduled requests per second now
	Interval   metrics.Interval // what was sent and measured in the last second
}

// Result is what a run produced.
type Result struct {
	Report    *metrics.Report
	Things    int
	Connected int // things connected when the schedule started
}

// ErrNothingConnected is returned when no thing could connect: there is no
// run to report.
var ErrNothingConnected = errors.New("no thing could connect")

// runner holds the state of one run.
type runner struct {
	cfg          Config
	set          *metrics.Set
	ids          *ids
	sched        *Schedule
	start        time.Time
	epoch        int64        // start in ns since the Unix epoch: a stamp is epoch + clock
	schedStartNs atomic.Int64 // when slot 0 is due, in ns from start
	things       []*thing
	thingIndex   map[string]int // thing name → index, read-only once built
	workers      []*worker
	observers    []*observer
	ctx          context.Context

	connMu  sync.Mutex
	connRec *metrics.Recorder // connects and subscribes, from many goroutines under connMu

	connected atomic.Int64 // things connected by the initial ramp
	up        atomic.Int64 // things connected now

	everConnected atomic.Bool // some connection has succeeded
}

// Run connects the observers and the fleet, drives the schedule and returns
// the report. It returns an error only when nothing could be measured;
// reasons a finished run cannot be trusted are in Report.Invalid.
func Run(ctx context.Context, c Config) (*Result, error) {
	cfg, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	phases := make([]Phase, len(cfg.Phases))
	for i, p := range cfg.Phases {
		phases[i] = p.Phase
	}
	sched, err := NewSchedule(phases)
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, set: metrics.NewSet(), sched: sched}
	r.ids = declare(r.set, cfg.Observers)
	r.connRec = r.set.NewRecorder()
	r.build()
	collector := r.set.Collector()
	r.start = time.Now()
	r.epoch = r.start.UnixNano()
	cpuStart := cpuTime()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.ctx = runCtx
	var wg sync.WaitGroup
	// Workers handle connection events from the first connect on; the
	// schedule starts once the fleet is up.
	r.schedStartNs.Store(math.MaxInt64 / 2)
	started := make(chan struct{})
	for _, w := range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(w.done)
			w.idle(runCtx, started)
			w.run(runCtx)
		}()
	}

	if err := r.connectObservers(runCtx); err != nil {
		cancel()
		wg.Wait()
		return nil, err
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
		cancel()
		wg.Wait()
		close(stopTicks)
		<-ticksDone
		r.disconnectObservers()
		return &Result{Report: collector.Final(), Things: len(r.things)}, ErrNothingConnected
	}
	r.schedStartNs.Store(int64(time.Since(r.start)))
	close(started)

	wg.Wait()
	r.waitFanout()
	for _, w := range r.workers {
		w.settle()
	}
	close(stopTicks)
	<-ticksDone

	groups, perFilter := r.expectedFanout()
	for g, n := range groups {
		ids := r.ids.fanout[g]
		r.connRec.Add(ids.expected, n)
		for k, fid := range ids.filters {
			r.connRec.Add(fid.expected, perFilter[g][k])
		}
	}
	observerLost := ""
	for _, o := range r.observers {
		if o.lost.Load() {
			observerLost = r.cfg.Observers[o.group].Name
			break
		}
	}
	r.disconnectObservers()
	var stale, foreign int64
	for _, w := range r.workers {
		w.disconnect()
		stale += w.stale.Load()
		foreign += w.foreign.Load()
	}

	rep := collector.Final()
	rep.Duration = r.sched.Duration()
	cpu := cpuTime() - cpuStart
	wall := time.Since(r.start)
	cores := runtime.GOMAXPROCS(0)
	rep.Generator = &metrics.Generator{
		CPUSeconds:  cpu.Seconds(),
		Cores:       cores,
		Utilization: cpu.Seconds() / (wall.Seconds() * float64(cores)),

		MemoryPerThing: max(memPerThing, 0),
	}
	if lag, ok := rep.Latencies["schedule.lag"]; ok {
		rep.Generator.SchedulerLag = lag.Summary
	}
	rep.Counters["replies.stale"] = stale
	rep.Counters["messages.foreign"] = foreign
	rep.Counters["things"] = int64(len(r.things))
	rep.Counters["things.connected"] = int64(connected)
	rep.Invalid = append(rep.Invalid, r.invalid(rep, connected, observerLost)...)
	return &Result{Report: rep, Things: len(r.things), Connected: connected}, nil
}

// build makes the things and spreads them over the workers: thing i belongs
// to worker i mod W, which also owns every slot of that thing.
func (r *runner) build() {
	nw := r.cfg.Workers
	r.thingIndex = make(map[string]int, len(r.cfg.Things))
	for i := 0; i < nw; i++ {
		r.workers = append(r.workers, &worker{
			r: r, cfg: &r.cfg, ids: r.ids,
			events: make(chan event, 4096),
			done:   make(chan struct{}),
			rec:    r.set.NewRecorder(),
			fields: r.cfg.Fields(i),
		})
	}
	for i, b := range r.cfg.Things {
		w := r.workers[i%nw]
		t := &thing{index: i, local: int32(len(w.things)), bundle: b, names: r.cfg.Shadows, inflight: newInflight(r.cfg.InFlight)}
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

// idle handles connection events until the schedule starts.
func (w *worker) idle(ctx context.Context, started <-chan struct{}) {
	for {
		select {
		case ev := <-w.events:
			w.handle(ev)
		case <-started:
			return
		case <-ctx.Done():
			return
		}
	}
}

// connectFleet connects every thing at the configured connect rate, each
// attempt paced like a request slot, retrying failures with backoff until
// the connect window closes.
func (r *runner) connectFleet(ctx context.Context) {
	n := len(r.things)
	dialers := min(n, 64)
	var next atomic.Int64
	deadline := time.Now().Add(r.cfg.ConnectWindow)
	begin := time.Now()
	var wg sync.WaitGroup
	for d := 0; d < dialers; d++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := next.Add(1) - 1
				if k >= int64(n) {
					return
				}
				due := begin.Add(time.Duration(float64(k) / r.cfg.ConnectRate * float64(time.Second)))
				if !sleepUntil(ctx, due) {
					return
				}
				t := r.things[k]
				w := r.workers[int(k)%len(r.workers)]
				if r.connectWithRetry(ctx, t, w, deadline) {
					r.connected.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	// Let the workers take in the last connection events before slot 0.
	for _, w := range r.workers {
		for len(w.events) > 0 && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
	}
}

// connectWithRetry connects t, retrying with exponential backoff until it
// succeeds or the deadline passes.
//
// While no thing at all has connected, a thing gives up after
// firstAttempts tries, so an unreachable or refusing target ends the run in
// about a second instead of the whole connect window.
func (r *runner) connectWithRetry(ctx context.Context, t *thing, w *worker, deadline time.Time) bool {
	const firstAttempts = 3
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
		err := t.connect(cctx, w)
		cancel()
		if err == nil {
			r.everConnected.Store(true)
			return true
		}
		if ctx.Err() != nil || time.Now().Add(backoff).After(deadline) {
			return false
		}
		if attempt >= firstAttempts && !r.everConnected.Load() {
			return false
		}
		if !sleepUntil(ctx, time.Now().Add(backoff)) {
			return false
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// redial brings a lost connection back, with backoff, for as long as the
// run lasts.
func (r *runner) redial(t *thing, w *worker) {
	r.connectWithRetry(r.ctx, t, w, time.Now().Add(24*time.Hour))
}

// tick collects an interval each second and reports progress.
func (r *runner) tick(c *metrics.Collector, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tk.C:
			iv := c.Interval(now)
			if r.cfg.Tick == nil {
				continue
			}
			elapsed := time.Since(r.start) - r.schedStart()
			if elapsed < 0 {
				// Still connecting: the schedule has not started.
				r.cfg.Tick(Progress{Phase: "connect", Elapsed: time.Since(r.start), Connected: r.connectedNow(), Things: len(r.things), Interval: iv})
				continue
			}
			p := Progress{
				Elapsed:    elapsed,
				Connected:  r.connectedNow(),
				Things:     len(r.things),
				TargetRate: r.sched.RateAt(elapsed),
				Interval:   iv,
			}
			if n := r.sched.PhaseAt(elapsed); n >= 0 {
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

// waitFanout gives observers up to a second to receive what is still in
// flight to them once the fleet has finished.
func (r *runner) waitFanout() {
	if len(r.observers) == 0 {
		return
	}
	var last int64 = -1
	for i := 0; i < 20; i++ {
		var total int64
		for _, o := range r.observers {
			total += o.received.Load()
		}
		if total == last {
			return
		}
		last = total
		time.Sleep(50 * time.Millisecond)
	}
}

// settle takes in what reached the worker after it stopped: replies that
// came after their request ended are stale but still part of the traffic
// observers saw; late connections are closed. Only the run's goroutine calls
// it, after the workers have returned.
func (w *worker) settle() {
	for {
		select {
		case ev := <-w.events:
			switch ev.kind {
			case evUp:
				_ = ev.client.Disconnect(&paho.Disconnect{})
			case evReply:
				w.countReply(&w.things[ev.thing].shadows[ev.shadow], ev)
				w.stale.Add(1)
			case evDelta:
				w.things[ev.thing].shadows[ev.shadow].events[evtDelta]++
				w.rec.Add(w.ids.deltaReceived, 1)
			}
		default:
			return
		}
	}
}

// disconnect closes the worker's connections once it has stopped.
func (w *worker) disconnect() {
	for _, t := range w.things {
		if t.client != nil {
			_ = t.client.Disconnect(&paho.Disconnect{})
		}
	}
	w.settle()
}

func (r *runner) disconnectObservers() {
	for _, o := range r.observers {
		_ = o.client.Disconnect(&paho.Disconnect{})
	}
}

// MaxLateFraction is the share of slots that may start later than the late
// bound before a run is declared invalid: past it the generator, not the
// target, set the pace.
const MaxLateFraction = 0.05

// invalid lists why a finished run cannot be trusted.
func (r *runner) invalid(rep *metrics.Report, connected int, observerLost string) []string {
	var out []string
	slots := rep.Counters["schedule.slots"]
	if late := rep.Counters["schedule.late"]; slots > 0 && float64(late)/float64(slots) > MaxLateFraction {
		out = append(out, fmt.Sprintf("the generator fell behind its schedule: %d of %d slots (%.1f%%) started more than %v late (bound %.0f%%)",
			late, slots, 100*float64(late)/float64(slots), r.cfg.LateBound, 100*MaxLateFraction))
	}
	if connected < len(r.things) {
		out = append(out, fmt.Sprintf("only %d of %d things connected", connected, len(r.things)))
	}
	if observerLost != "" {
		out = append(out, fmt.Sprintf("observer group %q lost a connection: its fan-out counts are incomplete", observerLost))
	}
	return out
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

// sleepUntil waits for t or the context, reporting whether t was reached.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
