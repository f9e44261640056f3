package load

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// These tests run whole schedules against the fake target inside a synctest
// bubble: time is virtual, so a ten-second schedule takes a moment and every
// wait is exact, and no socket is opened.

// fakeRun is a run of things things at rate requests/s for d against tr.
func fakeRun(tr *fakeTransport, things int, rate float64, d time.Duration) Config {
	return Config{
		Transport:   tr,
		Clock:       plainClock{},
		Things:      testBundles(things),
		ConnectRate: 1000,
		Phases: []PhaseSpec{
			{Phase: Phase{Name: "warm", Duration: d / 2, From: rate / 10, To: rate}, Mix: Mix{OpUpdate: 8, OpGet: 1, OpDelete: 1}},
			{Phase: Phase{Name: "steady", Duration: d / 2, From: rate, To: rate}, Mix: Mix{OpUpdate: 1}},
		},
	}
}

func TestRunWholeScheduleAgainstAFakeTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newFakeTransport()
		tr.delay = 20 * time.Millisecond
		cfg := fakeRun(tr, 5, 100, 10*time.Second)
		cfg.Verify = true
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		rep := res.Report
		checkBooks(t, rep)
		if len(rep.Invalid) > 0 || res.StopCause != nil {
			t.Errorf("invalid %v, stopped by %v", rep.Invalid, res.StopCause)
		}
		if rep.Duration != 10*time.Second {
			t.Errorf("duration %v, want the 10s schedule", rep.Duration)
		}
		slots := rep.Counters["schedule.slots"]
		if want := int64(275 + 500); slots != want {
			t.Errorf("%d slots, want %d", slots, want)
		}
		for _, ph := range []string{"warm", "steady"} {
			var sum int64
			for _, op := range []string{"update", "get", "delete"} {
				sum += rep.Counters[op+".scheduled{phase:"+ph+"}"]
			}
			if sum != rep.Counters["schedule.slots{phase:"+ph+"}"] {
				t.Errorf("phase %s: %d scheduled by operation, %d slots", ph, sum, rep.Counters["schedule.slots{phase:"+ph+"}"])
			}
		}
		if rep.Counters["update.sent"] != rep.Counters["update.scheduled"] {
			t.Errorf("update.sent %d, scheduled %d: every slot had room", rep.Counters["update.sent"], rep.Counters["update.scheduled"])
		}
		if p50 := rep.Latencies["update.accepted"].P50; p50 < 19.9e6 || p50 > 20.1e6 {
			t.Errorf("update.accepted p50 %.2fms, want the target's 20ms", p50/1e6)
		}
		if n := rep.Counters["verify.read"]; n != 5 {
			t.Errorf("verify read %d shadows, want the 5 written", n)
		}
		if n := rep.Counters["verify.lost"] + rep.Counters["violations"]; n != 0 {
			t.Errorf("verify.lost + violations = %d against a target that keeps everything", n)
		}
		if len(rep.Phases) != 2 || rep.Phases[1].Start != 5*time.Second || rep.Phases[1].Duration != 5*time.Second {
			t.Errorf("phases %+v", rep.Phases)
		}
	})
}

func TestRunStoppedMidwayReportsTheRealDurationAndEveryRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newFakeTransport()
		tr.delay = 5 * time.Second // longer than the stop's grace: the requests in flight at the stop get no answer
		cfg := fakeRun(tr, 5, 50, 60*time.Second)
		ctx, cancel := context.WithCancelCause(context.Background())
		interrupted := errors.New("interrupted")
		cfg.Tick = func(p Progress) {
			if p.Phase != "connect" && p.Elapsed >= 8*time.Second {
				cancel(interrupted)
			}
		}
		res, err := Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		rep := res.Report
		checkBooks(t, rep)
		if !errors.Is(res.StopCause, interrupted) {
			t.Errorf("stop cause %v, want the interruption", res.StopCause)
		}
		if rep.Duration < 8*time.Second || rep.Duration > 9*time.Second {
			t.Errorf("duration %v, want the 8s the schedule ran, not the 60s planned", rep.Duration)
		}
		if n := rep.Counters["requests.unanswered"]; n == 0 {
			t.Error("no request was in flight at the stop; the test proves nothing")
		}
		if rep.Phases[1].Duration != rep.Duration-30*time.Second && rep.Phases[1].Duration != 0 {
			t.Errorf("phases %+v for a run stopped at %v", rep.Phases, rep.Duration)
		}
	})
}

func TestRunAWorkerThatPanicsLosesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newFakeTransport()
		tr.delay = 3 * time.Second
		cfg := fakeRun(tr, 4, 40, 10*time.Second)
		var calls atomic.Int64
		cfg.Fields = func(int) FieldsFunc {
			return func(dst []byte, _ int) []byte {
				if calls.Add(1) == 50 {
					panic("generator broke")
				}
				return append(dst, `{"x":1}`...)
			}
		}
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		rep := res.Report
		checkBooks(t, rep)
		if !errors.Is(res.StopCause, ErrPanic) {
			t.Errorf("stop cause %v, want ErrPanic", res.StopCause)
		}
		if len(res.Panics) != 1 || !strings.Contains(res.Panics[0], "generator broke") || !strings.Contains(res.Panics[0], "goroutine") {
			t.Fatalf("panics %q; want the panic with its stack", res.Panics)
		}
		if !strings.Contains(strings.Join(rep.Invalid, "\n"), "internal error:") {
			t.Errorf("invalid %q; want the panic named", rep.Invalid)
		}
		if rep.Counters["update.sent"] == 0 {
			t.Error("nothing was sent before the panic")
		}
	})
}

func TestRunTargetThatForgetsIsCaught(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newFakeTransport()
		tr.delay = 10 * time.Millisecond
		cfg := fakeRun(tr, 3, 30, 10*time.Second)
		cfg.Phases[0].Mix = Mix{OpUpdate: 1}
		cfg.Verify = true
		var forgot atomic.Bool
		cfg.Tick = func(p Progress) {
			if p.Elapsed >= 7*time.Second && p.Phase != "connect" && !forgot.Swap(true) {
				for _, b := range cfg.Things {
					tr.forget(b.Thing)
				}
			}
		}
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		rep := res.Report
		if rep.Counters["violations"] == 0 {
			t.Error("versions started again from 1 and no violation was counted")
		}
		if rep.Counters["verify.lost"] == 0 {
			t.Error("the verify step found every write, though the target forgot them")
		}
	})
}

func TestRunNothingConnectedKeepsTheFirstErrorOfEachCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newFakeTransport()
		tr.dialErr = func(id string, _ int) error {
			if id == "sim-1" {
				return fmt.Errorf("%w: server certificate signed by an unknown CA", ErrTLS)
			}
			return fmt.Errorf("%w: connection refused", ErrUnreachable)
		}
		res, err := Run(context.Background(), fakeRun(tr, 3, 10, time.Second))
		if !errors.Is(err, ErrNothingConnected) {
			t.Fatalf("err = %v, want ErrNothingConnected", err)
		}
		rep := res.Report
		if rep.Counters["connect.failed.tls"] == 0 || rep.Counters["connect.failed.dial"] == 0 {
			t.Errorf("counters %v", rep.Counters)
		}
		if msg := rep.Errors["connect.failed.tls"]; !strings.Contains(msg, "server certificate signed by an unknown CA") {
			t.Errorf("first TLS failure %q", msg)
		}
	})
}
