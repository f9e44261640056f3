package scenario

import (
	"math"
	"strings"
	"testing"
	"time"
)

const planSrc = `name: plan
fleet:
  things: 100
  connect_rate: 50/s
  shadows: [classic, config]
observers:
  - name: docs
    count: 2
    filters: ["$aws/things/+/shadow/update/documents", "$aws/things/+/shadow/name/+/update/documents"]
  - name: one
    filters: ["$aws/things/sim-00007/shadow/#", "$aws/things/sim-00007/shadow/update/delta", "$aws/things/nobody/shadow/#"]
  - name: deltas
    filters: ["$aws/things/+/shadow/name/config/update/delta"]
phases:
  - name: ramp
    duration: 10s
    ramp: {from: 100/s, to: 300/s}
    mix: {update: 2, get: 1, delete: 1}
  - name: desired
    duration: 20s
    rate: 400/s
    write: desired
    respond_to_delta: true
`

func TestPlanNumbersForAKnownFile(t *testing.T) {
	s, err := Parse("plan.yaml", []byte(planSrc))
	if err != nil {
		t.Fatal(err)
	}
	p := s.Plan()
	if p.Connect.Connections != 104 || p.Connect.Duration != 2080*time.Millisecond {
		t.Errorf("connect %+v; want 104 connections over 2.08s", p.Connect)
	}
	// Two shadows × (update, get, delete accepted and rejected + delta).
	if p.DeviceSubscriptions != 6 {
		t.Errorf("device subscriptions %d; want 6", p.DeviceSubscriptions)
	}
	ramp, desired := p.Phases[0], p.Phases[1]
	// ramp: 3 requests/s per thing, half updates: 1.5 accepted+documents,
	// 0.75 get, 0.75 delete, no deltas.
	checks := []struct {
		name      string
		got, want float64
	}{
		{"ramp requests", float64(ramp.Requests), 2000},
		{"ramp per thing", float64(ramp.PerThing), 3},
		{"ramp per shadow", float64(ramp.PerShadow), 1.5},
		{"ramp device out", float64(ramp.DeviceOut), 3},
		{"ramp device in", float64(ramp.DeviceIn), 3},
		{"ramp documents", float64(ramp.Documents), 150},
		{"ramp deltas", float64(ramp.Deltas), 0},
		{"ramp docs observer", float64(ramp.ObserverIn[0]), 150},
		// One thing, both shadows, every event: 1.5 accepted + 1.5
		// documents + 0.75 get + 0.75 delete.
		{"ramp one-thing observer", float64(ramp.ObserverIn[1]), 4.5},
		{"ramp deltas observer", float64(ramp.ObserverIn[2]), 0},
		// desired: 4 updates/s per thing make 4 deltas, answered by 4
		// reported updates: 8 requests out, 8 replies + 4 deltas in.
		{"desired requests", float64(desired.Requests), 8000},
		{"desired per thing", float64(desired.PerThing), 8},
		{"desired device out", float64(desired.DeviceOut), 8},
		{"desired device in", float64(desired.DeviceIn), 12},
		{"desired documents", float64(desired.Documents), 800},
		{"desired deltas", float64(desired.Deltas), 400},
		{"desired docs observer", float64(desired.ObserverIn[0]), 800},
		// accepted 8 + documents 8 + delta 4 = 20 for thing 7.
		{"desired one-thing observer", float64(desired.ObserverIn[1]), 20},
		// half of the 400 deltas/s are on the config shadow.
		{"desired deltas observer", float64(desired.ObserverIn[2]), 200},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v; want %v", c.name, c.got, c.want)
		}
	}
	wantWarnings := []string{
		`phase "desired": each "docs" observer connection receives 800 publishes/s; AWS allows 100 per connection`,
		`phase "desired": each "deltas" observer connection receives 200 publishes/s; AWS allows 100 per connection`,
		`phase "ramp": each "docs" observer connection receives 150 publishes/s; AWS allows 100 per connection`,
	}
	for _, w := range wantWarnings {
		if !contains(p.Warnings, w) {
			t.Errorf("warnings %q\nlack %q", p.Warnings, w)
		}
	}
	if len(p.Warnings) != len(wantWarnings) {
		t.Errorf("warnings %q; want only %q", p.Warnings, wantWarnings)
	}
}

func TestPlanWarnsAgainstAWSQuotas(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"requests per thing", "fleet: {things: 2}\nphases: [{name: hot, duration: 1s, rate: 50/s}]\n",
			`phase "hot": 25.0 shadow requests/s per thing; AWS allows 20 per thing; expect 429`},
		{"publishes per connection", "fleet: {things: 1}\nphases: [{name: p, duration: 1s, rate: 30/s, write: desired, respond_to_delta: true}]\n",
			`phase "p": 150.0 publishes/s in and out per device connection; AWS allows 100`},
		{"connect rate", "fleet: {connect_rate: 600/s}\nphases: [{duration: 1s, rate: 1/s}]\n",
			"connect_rate 600/s is above the AWS account limit of 500 connects/s; expect refused connections"},
		{"in flight", "in_flight: 20\nphases: [{duration: 1s, rate: 1/s}]\n",
			"in_flight 20 is above the AWS limit of 10 shadow requests in flight per connection; expect 429"},
		{"state near limit", "payload: {fields: {b: {string: {bytes: 7000}}}}\nphases: [{duration: 1s, rate: 1/s}]\n",
			"the stored state may reach 7021 bytes, near the AWS limit of 8192"},
		{"state above limit", "payload: {fields: {b: {string: {bytes: 5000}}}}\nphases: [{duration: 1s, rate: 1/s, write: both}]\n",
			"the stored state may reach 10040 bytes; AWS rejects an update that takes it above 8192 with 413"},
		{"keep alive", "fleet: {keep_alive: 10s}\nphases: [{duration: 1s, rate: 1/s}]\n",
			"keep_alive 10s is outside the AWS range 30s to 20m0s; AWS will use 30s"},
		{"useless respond", "phases: [{name: r, duration: 1s, rate: 1/s, respond_to_delta: true}]\n",
			`phase "r": respond_to_delta with reported writes: the phase's own updates make no deltas`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("w.yaml", []byte("name: w\n"+tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if ws := s.Plan().Warnings; !contains(ws, tt.want) {
				t.Errorf("warnings %q\nlack %q", ws, tt.want)
			}
		})
	}
}

func TestPlanWriteTextShowsPhasesAndWarnings(t *testing.T) {
	s, err := Parse("plan.yaml", []byte(planSrc))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := s.Plan().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"scenario plan (plan.yaml)",
		"fleet    100 things, shadows classic, config, 6 subscriptions per device connection",
		"observer docs: connections 2, subscriptions 2 each",
		"ramp     10s       0           100→300     3            3             3            150          0         150                 4.5                0\n",
		"Model: the fleet connects before the first phase;",
		`warning: phase "ramp": each "docs" observer connection receives 150 publishes/s`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan text lacks %q:\n%s", want, out)
		}
	}
}

func TestPhaseRateAtAndRequests(t *testing.T) {
	ramp := Phase{Duration: 10 * time.Second, From: 0, To: 20}
	if r := ramp.RateAt(5 * time.Second); r != 10 {
		t.Errorf("RateAt(5s) = %v; want 10/s", r)
	}
	if r := ramp.RateAt(-time.Second); r != 0 {
		t.Errorf("RateAt(-1s) = %v; want 0/s", r)
	}
	if r := ramp.RateAt(time.Minute); r != 20 {
		t.Errorf("RateAt(1m) = %v; want 20/s", r)
	}
	if n := ramp.Requests(); n != 100 {
		t.Errorf("Requests() = %d; want 100", n)
	}
	if n := (Phase{Duration: 10 * time.Second, From: 30, To: 10}).Requests(); n != 200 {
		t.Errorf("falling ramp Requests() = %d; want 200", n)
	}
	if n := (Phase{Duration: time.Second}).Requests(); n != 0 {
		t.Errorf("an idle phase has %d requests; want none", n)
	}
}
