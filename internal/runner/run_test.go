package runner

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/scenario"
)

// TestShippedScenariosRunAtSmallScale runs every shipped embedded scenario
// through the real runner, scaled down, and checks its books balance.
func TestShippedScenariosRunAtSmallScale(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			s, err := scenario.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			if !s.Target.Embedded() {
				t.Skipf("%s targets %s, not the embedded emulator", file, s.Target.Endpoint)
			}
			var peak scenario.Rate
			for _, p := range s.Phases {
				peak = max(peak, p.Peak())
			}
			// Under the race detector on a shared machine a few slots of
			// a short run start late; the generator's pace is not what
			// this test checks.
			s.Validity.Late = 1
			if err := s.Apply(scenario.Overrides{Things: min(s.Fleet.Things, 10), Duration: 2 * time.Second, Rate: min(peak, 200)}); err != nil {
				t.Fatal(err)
			}
			rep, err := Run(context.Background(), s, Options{})
			if rep == nil {
				t.Fatal(err)
			}
			if errors.Is(err, ErrInvalid) {
				t.Errorf("invalid: %v", err)
			}
			if n := rep.Counters["things.connected"]; n != int64(s.Fleet.Things) {
				t.Errorf("%d of %d things connected", n, s.Fleet.Things)
			}
			var sent int64
			for _, op := range []string{"update", "get", "delete"} {
				n := rep.Counters[op+".sent"]
				ended := rep.Latencies[op+".accepted"].Count + rep.Latencies[op+".rejected"].Count + rep.Counters[op+".timeout"] + rep.Counters[op+".abandoned"]
				if n != ended {
					t.Errorf("%s: %d sent, %d ended", op, n, ended)
				}
				sent += n
			}
			if sent == 0 {
				t.Fatal("nothing sent")
			}
			if got := sent - rep.Counters["delta.responses"] + rep.Counters["schedule.skipped"] + rep.Counters["schedule.offline"]; got != rep.Counters["schedule.slots"] {
				t.Errorf("scheduled sends %d + skipped %d + offline %d != slots %d", sent-rep.Counters["delta.responses"], rep.Counters["schedule.skipped"], rep.Counters["schedule.offline"], rep.Counters["schedule.slots"])
			}
			if n := rep.Counters["verify.read"]; n == 0 || rep.Counters["verify.lost"] != 0 {
				t.Errorf("verify read %d shadows and found %d writes lost", n, rep.Counters["verify.lost"])
			}
			if len(rep.Thresholds) != len(s.Thresholds) {
				t.Errorf("%d threshold results for %d thresholds", len(rep.Thresholds), len(s.Thresholds))
			}
			if len(rep.Config) == 0 {
				t.Error("the report does not record the scenario")
			}
			for _, o := range s.Observers {
				exp, got := rep.Counters["fanout."+o.Name+".expected"], rep.Counters["fanout."+o.Name+".received"]
				if exp == 0 || got != exp {
					t.Errorf("observer %s: expected %d deliveries, received %d", o.Name, exp, got)
				}
			}
			if s.Payload.Optimistic && rep.Latencies["update.rejected.409"].Count == 0 {
				t.Error("optimistic writers got no 409 Version conflict")
			}
			if v := rep.Counters["violations"]; v != 0 {
				t.Errorf("%d version-order violations", v)
			}
		})
	}
}

func TestRunThresholdsDecide(t *testing.T) {
	s, err := scenario.Parse("gate.yaml", []byte(`
name: gate
validity: {late: 100%}
fleet: {things: 3}
phases:
  - {duration: 1s, rate: 30/s}
thresholds:
  update.accepted: ["p(99)<10s", "max<1us"]
`))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), s, Options{})
	if !errors.Is(err, ErrThresholds) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrSetup) {
		t.Fatalf("err = %v; want ErrThresholds only", err)
	}
	if !rep.Thresholds[0].Pass || rep.Thresholds[1].Pass {
		t.Errorf("threshold results %+v; want the first to pass and the second to fail", rep.Thresholds)
	}
}

func TestRunMissingBundlesAreNamed(t *testing.T) {
	dir := t.TempDir()
	s, err := scenario.Parse(filepath.Join(dir, "x.yaml"), []byte(`
name: away
target: {endpoint: "127.0.0.1:1", bundles: bundles}
fleet: {things: 1}
phases:
  - {duration: 1s, rate: 1/s}
`))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), s, Options{})
	if !errors.Is(err, ErrSetup) || !strings.Contains(err.Error(), "bundles") {
		t.Fatalf("err = %v; want a setup error naming the missing bundles", err)
	}
	if rep != nil {
		t.Error("a run that could not start returned a report")
	}
}

func TestRunUnreachableEndpointIsAnInvalidRun(t *testing.T) {
	dir := t.TempDir()
	ca, err := fleet.LoadOrCreateCA(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := emulator.OpenRegistry(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if _, err := fleet.Provision(context.Background(), ca, reg, fleet.ProvisionOptions{Things: 2, OutDir: filepath.Join(dir, "bundles")}); err != nil {
		t.Fatal(err)
	}
	s, err := scenario.Parse(filepath.Join(dir, "x.yaml"), []byte(`
name: away
target: {endpoint: "127.0.0.1:1", bundles: `+filepath.Join(dir, "bundles")+`}
fleet: {things: 2}
phases:
  - {duration: 1s, rate: 1/s}
`))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rep, err := Run(context.Background(), s, Options{})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "target unreachable: 127.0.0.1:1") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v; want an invalid run, the target unreachable with the cause", err)
	}
	if rep == nil || rep.Counters["connect.failed.dial"] == 0 {
		t.Errorf("report %v; want the failed dials counted", rep)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("giving up on an unreachable endpoint took %v", took)
	}
}

func TestRunInterruptedBeforeItStartsIsInvalidAndLeavesNoFile(t *testing.T) {
	s, err := scenario.Parse("x.yaml", []byte("name: x\nfleet: {things: 50}\nphases:\n  - {duration: 1s, rate: 1/s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("interrupted by interrupt"))
	dir := t.TempDir()
	rep, err := Run(ctx, s, Options{Out: filepath.Join(dir, "report.json")})
	if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrSetup) || !strings.Contains(err.Error(), "interrupted before it started (interrupted by interrupt)") {
		t.Errorf("err = %v; want an invalid run interrupted before it started", err)
	}
	if rep != nil {
		t.Error("a run that never started returned a report")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("files left behind: %v", left)
	}
}
