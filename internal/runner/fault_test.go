package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/load"
	"github.com/shadowload/shadowload/metrics"
	"github.com/shadowload/shadowload/scenario"
)

// faultyTarget is an emulator the test stops, restarts and stalls while a
// fleet runs against it: a data directory of provisioned things, served on
// one address by one emulator after another.
type faultyTarget struct {
	t       *testing.T
	data    string
	bundles string
	addr    string
	stall   string // the stall of the emulator Start serves with

	mu sync.Mutex
	em *emulator.Emulator
}

// newFaultyTarget provisions things (and observers) and serves them.
func newFaultyTarget(t *testing.T, things, observers int, stall string) *faultyTarget {
	t.Helper()
	dir := t.TempDir()
	f := &faultyTarget{t: t, data: filepath.Join(dir, "data"), bundles: filepath.Join(dir, "bundles"), addr: "127.0.0.1:0", stall: stall}
	f.start()
	ca, err := fleet.LoadOrCreateCA(f.data)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := fleet.Provision(ctx, ca, f.em.Registry(), fleet.ProvisionOptions{Things: things, OutDir: f.bundles}); err != nil {
		t.Fatal(err)
	}
	if observers > 0 {
		if _, err := fleet.Provision(ctx, ca, f.em.Registry(), fleet.ProvisionOptions{Things: observers, NamePattern: "documents-{i}", OutDir: f.bundles, Observer: true}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(f.stop)
	return f
}

// start serves the data directory on the target's address.
func (f *faultyTarget) start() {
	em, err := emulator.New(emulator.Config{
		DataDir: f.data, Listen: f.addr, HashMatchesDollar: true, Stall: f.stall,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		f.t.Error(err)
		return
	}
	if err := em.Start(); err != nil {
		f.t.Errorf("restart on %s: %v", f.addr, err)
		return
	}
	f.mu.Lock()
	f.em, f.addr = em, em.Addr()
	f.mu.Unlock()
}

// stop closes the emulator serving now, if any.
func (f *faultyTarget) stop() {
	f.mu.Lock()
	em := f.em
	f.em = nil
	f.mu.Unlock()
	if em != nil {
		em.Close()
	}
}

// scenario is a run of the target's things for d at rate, with observers
// watching the documents topic when the target has them.
func (f *faultyTarget) scenario(t *testing.T, things, observers int, rate string, d time.Duration) *scenario.Scenario {
	t.Helper()
	obs := ""
	if observers > 0 {
		obs = fmt.Sprintf("observers:\n  - {name: documents, count: %d, filters: [\"$aws/things/+/shadow/update/documents\"]}\n", observers)
	}
	s, err := scenario.Parse("faults.yaml", []byte(fmt.Sprintf(`
name: faults
target: {endpoint: %q, bundles: %q}
fleet: {things: %d, connect_rate: 200/s}
%sphases:
  - {name: before, duration: %v, rate: %s}
  - {name: after, duration: %v, rate: %s}
timeout: 2s
thresholds:
  update.accepted: ["p(99)<10s"]
`, f.addr, f.bundles, things, obs, d/2, rate, d/2, rate)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkReportBooks asserts that every request sent ended exactly once and
// every slot of the schedule was sent or skipped.
func checkReportBooks(t *testing.T, rep *metrics.Report) {
	t.Helper()
	var sent, scheduled int64
	for _, op := range []string{"update", "get", "delete"} {
		n := rep.Counters[op+".sent"]
		ended := rep.Latencies[op+".accepted"].Count + rep.Latencies[op+".rejected"].Count + rep.Counters[op+".timeout"]
		if n != ended {
			t.Errorf("%s: %d sent, %d ended", op, n, ended)
		}
		sent += n
		scheduled += rep.Counters[op+".scheduled"]
	}
	slots := rep.Counters["schedule.slots"]
	if scheduled != slots {
		t.Errorf("%d slots, %d scheduled by operation", slots, scheduled)
	}
	if got := sent - rep.Counters["delta.responses"] + rep.Counters["schedule.skipped"]; got != slots {
		t.Errorf("sent %d + skipped %d != %d slots", sent-rep.Counters["delta.responses"], rep.Counters["schedule.skipped"], slots)
	}
}

// TestFaultsMidRunMakeAnInvalidRunWithBalancedBooks runs a fleet against an
// emulator that stalls, is stopped and is restarted on the same data and
// address while the schedule runs. The run must end on time, invalid with
// its reasons, its books closed and its shadows read back.
func TestFaultsMidRunMakeAnInvalidRunWithBalancedBooks(t *testing.T) {
	const things = 10
	// The first emulator stalls its shadow responses 1.5s into every 2.5s;
	// it is stopped 3s into the schedule and restarted a second later.
	f := newFaultyTarget(t, things, 1, "2500ms:1s")
	s := f.scenario(t, things, 1, "100/s", 8*time.Second)
	f.stall = ""
	var stopped, restarted sync.Once
	down, up := make(chan struct{}), make(chan struct{})
	opts := Options{Out: filepath.Join(t.TempDir(), "report.json"), onTick: func(p load.Progress) {
		if p.Phase == "connect" {
			return
		}
		if p.Elapsed >= 3*time.Second {
			stopped.Do(func() { go func() { defer close(down); f.stop() }() })
		}
		if p.Elapsed >= 4*time.Second {
			restarted.Do(func() { go func() { defer close(up); <-down; f.start() }() })
		}
	}}
	rep, err := Run(context.Background(), s, opts)
	<-up
	if rep == nil {
		t.Fatalf("no report: %v", err)
	}
	if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrThresholds) {
		t.Fatalf("err = %v; want an invalid run", err)
	}
	reasons := strings.Join(rep.Invalid, "\n")
	if !strings.Contains(reasons, "the target dropped connections: connections lost") {
		t.Errorf("reasons do not name the lost connections:\n%s", reasons)
	}
	checkReportBooks(t, rep)
	if rep.Duration != 8*time.Second {
		t.Errorf("duration %v, want the 8s schedule", rep.Duration)
	}
	if rep.Counters["reconnects"] < things {
		t.Errorf("reconnects = %d; every thing lost its connection", rep.Counters["reconnects"])
	}
	if stalled := rep.Latencies["update.accepted{phase:before}"].Max; stalled < 500e6 {
		t.Errorf("before the stop, update.accepted max %.0fms: the 1s stall does not show", stalled/1e6)
	}
	if rep.Counters["connect.failed.dial"] == 0 || !strings.Contains(rep.Errors["connect.failed.dial"], "connection refused") {
		t.Errorf("redials while the target was down: %d failed, first %q", rep.Counters["connect.failed.dial"], rep.Errors["connect.failed.dial"])
	}
	if rep.Latencies["update.accepted{phase:after}"].Count == 0 {
		t.Error("nothing was accepted after the restart: the fleet did not come back")
	}
	judged := rep.Counters["verify.read"] + rep.Counters["verify.unanswered"] + rep.Counters["verify.denied"]
	if judged != things {
		t.Errorf("verify judged %d shadows (read %d), want all %d", judged, rep.Counters["verify.read"], things)
	}
	for _, th := range rep.Thresholds {
		if th.Pass {
			continue
		}
		t.Logf("threshold %s %s: %s", th.Metric, th.Expr, th.Actual)
	}
	t.Logf("invalid: %s", reasons)
	t.Logf("timeouts %d, skipped %d of %d, reconnects %d, violations %d, verify read %d lost %d",
		rep.Counters["update.timeout"], rep.Counters["schedule.skipped"], rep.Counters["schedule.slots"],
		rep.Counters["reconnects"], rep.Counters["violations"], rep.Counters["verify.read"], rep.Counters["verify.lost"])
}

// TestTargetKilledAndNeverBackIsInvalid stops the emulator for good
// mid-run: the remaining slots are skipped, and the run is invalid.
func TestTargetKilledAndNeverBackIsInvalid(t *testing.T) {
	const things = 5
	f := newFaultyTarget(t, things, 0, "")
	s := f.scenario(t, things, 0, "50/s", 4*time.Second)
	var once sync.Once
	done := make(chan struct{})
	rep, err := Run(context.Background(), s, Options{onTick: func(p load.Progress) {
		if p.Phase != "connect" && p.Elapsed >= time.Second {
			once.Do(func() { go func() { defer close(done); f.stop() }() })
		}
	}})
	<-done
	if !errors.Is(err, ErrInvalid) || rep == nil {
		t.Fatalf("err = %v; want an invalid run with its report", err)
	}
	reasons := strings.Join(rep.Invalid, "\n")
	for _, want := range []string{"connections lost", "slots skipped"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("reasons lack %q:\n%s", want, reasons)
		}
	}
	checkReportBooks(t, rep)
	if rep.Counters["verify.unanswered"] == 0 {
		t.Error("the shadows of a dead target were not counted unanswered")
	}
}
