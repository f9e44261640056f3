package mqtt_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/load"
	"github.com/shadowload/shadowload/internal/load/mqtt"
)

// testFleet starts an emulator on a loopback port with things and observers
// provisioned, and returns a load.Config aimed at it.
func testFleet(t *testing.T, things, observers int, mod func(*emulator.Config)) load.Config {
	t.Helper()
	dir := t.TempDir()
	ecfg := emulator.Config{
		DataDir: filepath.Join(dir, "data"), Listen: "127.0.0.1:0", HashMatchesDollar: true,
		// In the generator's process, as the embedded emulator of a run.
		EventLoops: -1,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mod != nil {
		mod(&ecfg)
	}
	em, err := emulator.New(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := em.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	ctx := context.Background()
	out := filepath.Join(dir, "bundles")
	ca, err := fleet.LoadOrCreateCA(ecfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fleet.Provision(ctx, ca, em.Registry(), fleet.ProvisionOptions{Things: things, OutDir: out}); err != nil {
		t.Fatal(err)
	}
	if observers > 0 {
		if _, err := fleet.Provision(ctx, ca, em.Registry(), fleet.ProvisionOptions{Things: observers, OutDir: out, Observer: true}); err != nil {
			t.Fatal(err)
		}
	}
	roots, bundles, err := fleet.LoadBundles(out)
	if err != nil {
		t.Fatal(err)
	}
	cfg := load.Config{Transport: &mqtt.Transport{Endpoint: em.Addr(), Roots: roots}, HashMatchesDollar: ecfg.HashMatchesDollar, ConnectRate: 500}
	var obs []fleet.Bundle
	for _, b := range bundles {
		if b.Observer {
			obs = append(obs, b)
		} else {
			cfg.Things = append(cfg.Things, b)
		}
	}
	if len(obs) > 0 {
		cfg.Observers = []load.ObserverGroup{{Name: "documents", Bundles: obs, Filters: []string{"$aws/things/+/shadow/update/documents"}}}
	}
	return cfg
}

func constant(d time.Duration, rate float64) load.PhaseSpec {
	return load.PhaseSpec{Phase: load.Phase{Name: "steady", Duration: d, From: rate, To: rate}, Mix: load.Mix{load.OpUpdate: 1}}
}

func TestRunCountsAddUpAndFanoutArrives(t *testing.T) {
	cfg := testFleet(t, 20, 1, func(c *emulator.Config) { c.Limits = emulator.LimitsNone })
	cfg.QoS = 1
	cfg.Phases = []load.PhaseSpec{constant(2*time.Second, 100)}
	cfg.Phases[0].Mix = load.Mix{load.OpUpdate: 8, load.OpGet: 1, load.OpDelete: 1}
	res, err := load.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	if res.Connected != 20 {
		t.Fatalf("connected %d of 20", res.Connected)
	}
	var sentAll int64
	for _, op := range []string{"update", "get", "delete"} {
		sent := rep.Counters[op+".sent"]
		got := rep.Latencies[op+".accepted"].Count + rep.Latencies[op+".rejected"].Count + rep.Counters[op+".timeout"]
		if sent != got {
			t.Errorf("%s: sent %d, but accepted+rejected+timed out = %d", op, sent, got)
		}
		sentAll += sent
	}
	slots := rep.Counters["schedule.slots"]
	if slots != 200 {
		t.Errorf("schedule.slots = %d, want 200", slots)
	}
	if sentAll+rep.Counters["schedule.skipped"] != slots {
		t.Errorf("sent %d + skipped %d != slots %d", sentAll, rep.Counters["schedule.skipped"], slots)
	}
	if rep.Counters["update.sent"] == 0 || rep.Latencies["update.accepted"].Count == 0 {
		t.Fatalf("no updates accepted: %v", rep.Counters)
	}
	if v := rep.Counters["violations"]; v != 0 {
		t.Errorf("%d shadow ordering violations", v)
	}
	exp, got := rep.Counters["fanout.documents.expected"], rep.Counters["fanout.documents.received"]
	if exp == 0 || exp != got {
		t.Errorf("fan-out: expected %d documents, received %d", exp, got)
	}
	if rep.Latencies["fanout.documents"].Count != got {
		t.Errorf("fan-out latency recorded %d times for %d deliveries", rep.Latencies["fanout.documents"].Count, got)
	}
	t.Logf("scheduler lag: %+v; invalid: %v", rep.Generator.SchedulerLag, rep.Invalid)
}

func TestRunDesiredWritesYieldDeltasAndDeviceAnswers(t *testing.T) {
	cfg := testFleet(t, 5, 0, func(c *emulator.Config) { c.Limits = emulator.LimitsNone })
	cfg.QoS = 1
	p := constant(time.Second, 20)
	p.Write = load.WriteDesired
	p.RespondToDelta = true
	cfg.Phases = []load.PhaseSpec{p}
	res, err := load.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	if exp, got := rep.Counters["delta.expected"], rep.Counters["delta.received"]; exp == 0 || got < exp {
		t.Errorf("deltas: %d desired updates accepted, %d deltas at the devices", exp, got)
	}
	if rep.Counters["delta.responses"] == 0 {
		t.Error("devices answered no delta")
	}
	if rep.Latencies["delta"].Count == 0 {
		t.Error("no delta latency recorded")
	}
	sent := rep.Counters["update.sent"]
	if got := rep.Latencies["update.accepted"].Count + rep.Latencies["update.rejected"].Count + rep.Counters["update.timeout"]; got != sent {
		t.Errorf("update: sent %d, ended %d", sent, got)
	}
	if sent <= 20 {
		t.Errorf("update.sent = %d: the delta answers should come on top of the 20 scheduled", sent)
	}
}

func TestRunUnreachableEndpointConnectsNothing(t *testing.T) {
	cfg := testFleet(t, 2, 0, nil)
	cfg.Transport = &mqtt.Transport{Endpoint: "127.0.0.1:1"}
	cfg.ConnectWindow = 300 * time.Millisecond
	cfg.Phases = []load.PhaseSpec{constant(time.Second, 10)}
	res, err := load.Run(context.Background(), cfg)
	if err != load.ErrNothingConnected {
		t.Fatalf("err = %v, want load.ErrNothingConnected", err)
	}
	if n := res.Report.Counters["connect.failed.dial"]; n == 0 {
		t.Errorf("connect.failed.dial = 0; counters %v", fmt.Sprint(res.Report.Counters))
	}
}

func TestRunLateRepliesAreTimeouts(t *testing.T) {
	cfg := testFleet(t, 2, 1, func(c *emulator.Config) {
		c.Limits = emulator.LimitsNone
		c.Latency = "fixed:1500ms"
	})
	cfg.Timeout = time.Second
	cfg.Observers[0].Filters = []string{"$aws/things/+/shadow/update/accepted", "$aws/things/+/shadow/update/documents"}
	cfg.Phases = []load.PhaseSpec{constant(2*time.Second, 2)}
	res, err := load.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	sent, timedOut := rep.Counters["update.sent"], rep.Counters["update.timeout"]
	if sent == 0 || timedOut != sent || rep.Latencies["update.accepted"].Count != 0 {
		t.Errorf("sent %d, timed out %d, accepted %d: every reply came after the 1s timeout", sent, timedOut, rep.Latencies["update.accepted"].Count)
	}
	if exp, got := rep.Counters["fanout.documents.expected"], rep.Counters["fanout.documents.received"]; got < exp {
		t.Errorf("fan-out expected %d, received %d: counted deliveries that never were", exp, got)
	}
}

func TestRunWriteBothPromisesNoDelta(t *testing.T) {
	cfg := testFleet(t, 2, 0, func(c *emulator.Config) { c.Limits = emulator.LimitsNone })
	p := constant(time.Second, 10)
	p.Write = load.WriteBoth
	cfg.Phases = []load.PhaseSpec{p}
	cfg.Timeout = 5 * time.Second
	start := time.Now()
	res, err := load.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Report.Counters["delta.expected"]; n != 0 {
		t.Errorf("delta.expected = %d for updates writing the same fields to desired and reported", n)
	}
	if n := res.Report.Counters["delta.received"]; n != 0 {
		t.Errorf("delta.received = %d: desired and reported differed", n)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("the run took %v: it waited for deltas that could not come", took)
	}
}

func TestRunFanoutTimesOnlyUpdateMessages(t *testing.T) {
	cfg := testFleet(t, 3, 1, func(c *emulator.Config) { c.Limits = emulator.LimitsNone })
	cfg.Observers[0].Filters = []string{"$aws/things/+/shadow/+/accepted"}
	p := constant(time.Second, 30)
	p.Mix = load.Mix{load.OpUpdate: 1, load.OpGet: 1}
	cfg.Phases = []load.PhaseSpec{p}
	res, err := load.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	updates, gets := rep.Latencies["update.accepted"].Count, rep.Latencies["get.accepted"].Count
	if got := rep.Counters["fanout.documents.received"]; got != updates+gets {
		t.Errorf("observer received %d, want %d update and %d get replies", got, updates, gets)
	}
	if timed := rep.Latencies["fanout.documents"].Count; timed != updates {
		t.Errorf("fan-out timed %d deliveries, want the %d update replies only", timed, updates)
	}
}

func TestRunCountsFanoutPerFilter(t *testing.T) {
	cfg := testFleet(t, 4, 1, func(c *emulator.Config) { c.Limits = emulator.LimitsNone })
	cfg.Observers[0].Filters = []string{"$aws/things/+/shadow/update/documents", "$aws/things/+/shadow/update/accepted"}
	cfg.Phases = []load.PhaseSpec{constant(time.Second, 40)}
	res, err := load.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	updates := rep.Latencies["update.accepted"].Count
	for _, f := range []string{"f0", "f1"} {
		exp, got := rep.Counters["fanout.documents."+f+".expected"], rep.Counters["fanout.documents."+f+".received"]
		if exp != updates || got != exp {
			t.Errorf("filter %s: expected %d, received %d, want both %d", f, exp, got, updates)
		}
		if n := rep.Latencies["fanout.documents."+f].Count; n != updates {
			t.Errorf("filter %s timed %d deliveries, want %d", f, n, updates)
		}
	}
	if exp, got := rep.Counters["fanout.documents.expected"], rep.Counters["fanout.documents.received"]; exp != 2*updates || got != exp {
		t.Errorf("group: expected %d, received %d, want both %d", exp, got, 2*updates)
	}
}
