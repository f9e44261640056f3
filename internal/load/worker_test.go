package load

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shadowload/shadowload/metrics"
)

// bench is one worker of a run, built for tests that call its methods one
// at a time: its things are connected to a fake target, its clock moves by
// hand and nothing runs on its own unless the test starts it.
type bench struct {
	t   *testing.T
	clk *manualClock
	tr  *fakeTransport
	r   *runner
	w   *worker
}

// newBench builds a one-worker run of things things on cfg and connects
// them; cfg's transport and clock are the bench's.
func newBench(t *testing.T, things int, manual bool, cfg Config) *bench {
	t.Helper()
	b := &bench{t: t, clk: newManualClock(), tr: newFakeTransport()}
	b.tr.manual = manual
	cfg.Transport, cfg.Clock, cfg.Workers, cfg.Things = b.tr, b.clk, 1, testBundles(things)
	if len(cfg.Phases) == 0 {
		cfg.Phases = []PhaseSpec{{Phase: Phase{Name: "steady", Duration: 10 * time.Second, From: 10, To: 10}}}
	}
	full, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	r, err := newRunner(full)
	if err != nil {
		t.Fatal(err)
	}
	r.start = b.clk.Now()
	r.epoch = r.start.UnixNano()
	r.ctx, r.cancel = context.WithCancelCause(context.Background())
	r.redialCtx, r.stopRedial = context.WithCancel(r.ctx)
	t.Cleanup(func() {
		r.cancel(errors.New("test over"))
		r.redials.Wait()
	})
	r.everConnected.Store(true)
	b.r, b.w = r, r.workers[0]
	for _, th := range b.w.things {
		if err := th.connect(r.ctx, b.w, -1); err != nil {
			t.Fatal(err)
		}
	}
	// Drain the timer announcements connecting made.
	for len(b.clk.armed) > 0 {
		<-b.clk.armed
	}
	return b
}

// at moves the clock to ms milliseconds after the run's start.
func (b *bench) at(ms int) {
	b.t.Helper()
	now := b.clk.Now().Sub(b.r.start)
	if d := time.Duration(ms)*time.Millisecond - now; d > 0 {
		b.clk.Advance(d)
	}
}

// settle waits until the requests the fake target answers on goroutines
// of their own are answered; their replies are applied as they arrive.
func (b *bench) settle() { b.tr.serving.Wait() }

// redialed waits until the redials under way have connected or given up.
func (b *bench) redialed() { b.r.redials.Wait() }

// expire times out the requests past their timeout now.
func (b *bench) expire() { b.w.locked(func() { b.w.expire(b.w.clock()) }) }

// slot sends slot i of thing 0 at its due time.
func (b *bench) slot(i int64) {
	due := b.r.sched.At(i)
	b.at(int(due / time.Millisecond))
	b.w.locked(func() { b.w.send(i, i, b.w.things[0], int64(due)) })
}

// conn is the current connection of thing 0.
func (b *bench) conn() *fakeConn { return b.tr.conn(b.t, b.w.things[0].bundle.Thing) }

// answer serves the k-th unanswered request of thing 0; its replies reach
// the worker before it returns.
func (b *bench) answer(k int) {
	b.t.Helper()
	b.conn().answer(k)
}

// report is what the run recorded so far.
func (b *bench) report() *metrics.Report {
	return b.r.set.Collector().FinalAt(b.clk.Now())
}

// checkBooks asserts that every request sent ended exactly once and every
// slot was sent or skipped.
func checkBooks(t *testing.T, rep *metrics.Report) {
	t.Helper()
	var sent, scheduled int64
	for _, op := range []string{"update", "get", "delete"} {
		n := rep.Counters[op+".sent"]
		ended := rep.Latencies[op+".accepted"].Count + rep.Latencies[op+".rejected"].Count + rep.Counters[op+".timeout"] + rep.Counters[op+".abandoned"]
		if n != ended {
			t.Errorf("%s: %d sent, %d ended (accepted %d, rejected %d, timed out %d, abandoned %d)", op, n, ended,
				rep.Latencies[op+".accepted"].Count, rep.Latencies[op+".rejected"].Count, rep.Counters[op+".timeout"], rep.Counters[op+".abandoned"])
		}
		sent += n
		scheduled += rep.Counters[op+".scheduled"]
	}
	slots := rep.Counters["schedule.slots"]
	if scheduled != slots {
		t.Errorf("%d slots, %d scheduled by operation", slots, scheduled)
	}
	if got := sent - rep.Counters["delta.responses"] + rep.Counters["schedule.skipped"] + rep.Counters["schedule.offline"]; got != slots {
		t.Errorf("sent %d − delta answers %d + skipped %d + offline %d = %d, want the %d slots", sent, rep.Counters["delta.responses"],
			rep.Counters["schedule.skipped"], rep.Counters["schedule.offline"], got, slots)
	}
}

func TestHeldSlotLeavesWhenAReplyMakesRoomAndKeepsItsIntendedTime(t *testing.T) {
	b := newBench(t, 1, true, Config{InFlight: 2, Timeout: time.Second})
	b.slot(0) // due 0ms
	b.slot(1) // due 100ms
	b.slot(2) // due 200ms: both in-flight slots taken, held back
	rep := b.report()
	if rep.Counters["update.sent"] != 2 || rep.Counters["schedule.deferred"] != 1 {
		t.Fatalf("sent %d, deferred %d; want 2 and 1", rep.Counters["update.sent"], rep.Counters["schedule.deferred"])
	}
	b.at(250)
	b.answer(0) // frees a slot: the held request leaves now, 50ms after its time
	if n := len(b.conn().pending()); n != 2 {
		t.Fatalf("%d requests on the wire after the pump, want 2", n)
	}
	b.at(300)
	b.answer(0)
	b.answer(0)
	rep = b.report()
	checkBooks(t, rep)
	acc, unc := rep.Latencies["update.accepted"], rep.Latencies["update.accepted.uncorrected"]
	if acc.Count != 3 {
		t.Fatalf("%d accepted, want 3", acc.Count)
	}
	// Corrected from the intended times: 250, 200 and 100ms. Uncorrected
	// from the sends at 0, 100 and 250ms: 250, 200 and 50ms.
	if ms := acc.Min / 1e6; ms < 99.9 || ms > 100.1 {
		t.Errorf("corrected min %.2fms, want 100ms: the held slot's latency counts from its intended time", ms)
	}
	if ms := unc.Min / 1e6; ms < 49.9 || ms > 50.1 {
		t.Errorf("uncorrected min %.2fms, want 50ms", ms)
	}
	if rep.Counters[metrics.Scoped("update.sent", "steady")] != 3 {
		t.Errorf("the phase's update.sent = %d, want 3", rep.Counters[metrics.Scoped("update.sent", "steady")])
	}
}

func TestHeldSlotOlderThanTheTimeoutIsSkipped(t *testing.T) {
	b := newBench(t, 1, true, Config{InFlight: 1, Timeout: time.Second})
	b.slot(0)
	b.slot(1) // held behind the one in flight
	b.at(1200)
	b.expire() // slot 0 times out; slot 1 is 1.1s old: no reply could come in time
	rep := b.report()
	checkBooks(t, rep)
	if rep.Counters["update.timeout"] != 1 || rep.Counters["schedule.skipped"] != 1 || rep.Counters["update.sent"] != 1 {
		t.Errorf("timeout %d, skipped %d, sent %d; want 1, 1, 1", rep.Counters["update.timeout"], rep.Counters["schedule.skipped"], rep.Counters["update.sent"])
	}
}

func TestExpiredRequestsReplyIsStale(t *testing.T) {
	b := newBench(t, 1, true, Config{Timeout: time.Second})
	b.slot(0)
	b.at(1500)
	b.expire()
	b.answer(0)
	rep := b.report()
	checkBooks(t, rep)
	if rep.Counters["update.timeout"] != 1 || rep.Latencies["update.accepted"].Count != 0 || b.w.stale.Load() != 1 {
		t.Errorf("timeout %d, accepted %d, stale %d; want 1, 0, 1", rep.Counters["update.timeout"], rep.Latencies["update.accepted"].Count, b.w.stale.Load())
	}
}

func TestLostConnectionEndsItsRequestsAndRedialsAtTheConnectRate(t *testing.T) {
	b := newBench(t, 1, true, Config{InFlight: 1, ConnectRate: 2})
	b.tr.dialErr = func(_ string, attempt int) error {
		if attempt == 2 {
			return ErrUnreachable
		}
		return nil
	}
	b.slot(0)
	b.slot(1) // held
	old := b.conn()
	old.lose() // the loss: the request in flight ends, the held slot is skipped, a redial starts
	rep := b.report()
	if rep.Counters["update.timeout"] != 1 || rep.Counters["schedule.skipped"] != 1 || rep.Counters["reconnects"] != 1 {
		t.Fatalf("timeout %d, skipped %d, reconnects %d; want 1 each", rep.Counters["update.timeout"], rep.Counters["schedule.skipped"], rep.Counters["reconnects"])
	}
	// The first redial fails at once (the limiter had a token); the second
	// waits a jittered backoff of 50–100ms, then what remains of the half
	// second the connect rate of 2/s spaces attempts by.
	backoffWait := b.clk.waitArmed(t)
	if backoffWait < 50*time.Millisecond || backoffWait > 100*time.Millisecond {
		t.Errorf("first backoff %v, want 50ms to 100ms", backoffWait)
	}
	b.clk.Advance(backoffWait)
	paceWait := b.clk.waitArmed(t)
	if total := backoffWait + paceWait; total < 499*time.Millisecond || total > 501*time.Millisecond {
		t.Errorf("second attempt %v after the first, want 500ms: the connect rate paces redials", total)
	}
	b.clk.Advance(paceWait)
	b.redialed() // the connection is back
	if th := b.w.things[0]; !th.up || b.conn() == old {
		t.Fatal("the thing did not come back on a new connection")
	}
	b.slot(2)
	if n := len(b.conn().pending()); n != 1 {
		t.Errorf("%d requests on the new connection, want 1", n)
	}
	rep = b.report()
	if rep.Counters["connect.failed.dial"] != 1 {
		t.Errorf("connect.failed.dial = %d, want 1", rep.Counters["connect.failed.dial"])
	}
	if msg := b.r.errors["connect.failed.dial"]; !strings.Contains(msg, "sim-0") || !strings.Contains(msg, ErrUnreachable.Error()) {
		t.Errorf("first dial failure %q does not name the thing and the cause", msg)
	}
}

func TestBackoffGrowsJitteredAndCapped(t *testing.T) {
	for attempt := 0; attempt < 40; attempt++ {
		step := min(backoffBase<<min(attempt, 16), backoffMax)
		seen := map[time.Duration]bool{}
		for key := uint64(0); key < 50; key++ {
			d := backoff(attempt, key)
			if d < step/2 || d > step {
				t.Fatalf("backoff(%d, %d) = %v, want %v to %v", attempt, key, d, step/2, step)
			}
			seen[d] = true
		}
		if len(seen) < 40 {
			t.Errorf("attempt %d: %d distinct waits over 50 things: not jittered", attempt, len(seen))
		}
	}
}

func TestVersionViolations(t *testing.T) {
	tests := []struct {
		name string
		// serve answers the two updates in flight, as the target would.
		serve func(b *bench)
		want  int64
	}{
		{"applied in send order", func(b *bench) { b.answer(0); b.answer(0) }, 0},
		{"applied out of send order", func(b *bench) { b.answer(1); b.answer(0) }, 1},
		{"target forgot the shadow between them", func(b *bench) {
			b.answer(0)
			b.tr.forget(b.w.things[0].bundle.Thing)
			b.answer(0)
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBench(t, 1, true, Config{})
			b.slot(0)
			b.slot(1)
			tt.serve(b)
			rep := b.report()
			checkBooks(t, rep)
			if got := rep.Counters["violations"]; got != tt.want {
				t.Errorf("violations = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestVerifyCountsTheAcceptedWritesTheTargetLost(t *testing.T) {
	tests := []struct {
		name string
		// after runs once three updates were accepted.
		after                  func(b *bench)
		read, lost, unanswered int64
		denied                 int64
	}{
		{"target kept every write", func(*bench) {}, 1, 0, 0, 0},
		{"target lost the shadow", func(b *bench) { b.tr.forget(b.w.things[0].bundle.Thing) }, 1, 3, 0, 0},
		{"target rolled back to an older version", func(b *bench) {
			b.tr.forget(b.w.things[0].bundle.Thing)
			b.slot(3) // version 1 of a new shadow; 2 and 3 are gone
			b.settle()
		}, 1, 2, 0, 0},
		{"identity may not read", func(b *bench) {
			b.tr.refuse = func(topic string) int {
				if strings.HasSuffix(topic, "/get") {
					return 403
				}
				return 0
			}
		}, 0, 0, 0, 1},
		{"thing disconnected", func(b *bench) {
			b.conn().lose()
		}, 0, 0, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBench(t, 1, false, Config{Verify: true})
			b.tr.dialErr = func(_ string, attempt int) error {
				if attempt > 1 {
					return ErrRefused // no redial succeeds
				}
				return nil
			}
			for i := int64(0); i < 3; i++ {
				b.slot(i)
				b.settle()
			}
			tt.after(b)
			if !b.w.verify(context.Background()) {
				t.Fatal("verify was cancelled")
			}
			rep := b.report()
			got := [4]int64{rep.Counters["verify.read"], rep.Counters["verify.lost"], rep.Counters["verify.unanswered"], rep.Counters["verify.denied"]}
			if want := [4]int64{tt.read, tt.lost, tt.unanswered, tt.denied}; got != want {
				t.Errorf("verify read, lost, unanswered, denied = %v, want %v", got, want)
			}
			if rep.Counters["get.sent"] != 0 {
				t.Errorf("get.sent = %d: read-backs counted as scheduled requests", rep.Counters["get.sent"])
			}
		})
	}
}

func TestLostWritesAfterADelete(t *testing.T) {
	tests := []struct {
		name           string
		update, delete int64
		got            int64
		exists         bool
		want           int64
	}{
		{"never written", 0, 0, 0, false, 0},
		{"deleted last and gone", 4, 4, 0, false, 0},
		{"deleted last but back", 4, 4, 4, true, 1},
		{"updated after a delete, gone", 6, 4, 0, false, 2},
		{"updated after a delete, kept", 6, 4, 6, true, 0},
		{"ahead of what was accepted", 3, 0, 5, true, 0},
	}
	for _, tt := range tests {
		ss := shadowState{updateVersion: tt.update, deleteVersion: tt.delete}
		if got := ss.lostWrites(tt.got, tt.exists); got != tt.want {
			t.Errorf("%s: lostWrites = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestStopEndsEveryRequestInFlight(t *testing.T) {
	b := newBench(t, 1, true, Config{StopGrace: 300 * time.Millisecond})
	for i := int64(0); i < 3; i++ {
		b.slot(i)
	}
	b.answer(0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.w.stop()
	}()
	b.clk.waitArmed(t) // the stop waits for the requests in flight
	b.conn().answer(0) // a reply that comes in the grace still counts, and wakes it
	b.clk.waitArmed(t)
	b.clk.Advance(time.Second) // the grace is over
	<-done
	rep := b.report()
	checkBooks(t, rep)
	if acc, to := rep.Latencies["update.accepted"].Count, rep.Counters["update.timeout"]; acc != 2 || to != 1 {
		t.Errorf("accepted %d, timed out %d; want 2 and 1", acc, to)
	}
	if n := rep.Counters["requests.unanswered"]; n != 1 {
		t.Errorf("requests.unanswered = %d, want 1", n)
	}
}
