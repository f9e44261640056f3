package scenario

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/shadowload/shadowload/internal/load"
)

// FuzzPlan builds scenarios from fuzzed rates, ramps, durations, fleet sizes
// and command-line overrides, absurd ones included. Whatever parses and
// applies must plan in bounded time with finite numbers and lay out as the
// load engine's schedule without overflow: every slot inside the run, in
// order. What does not must be refused with an error, never a hang.
func FuzzPlan(f *testing.F) {
	f.Add("99999999999999999999999/s", "10/s", "1m", "5/s", "100/s", 10, "", int64(0))
	f.Add("0/s", "1000000/s", "720h", "1000000/s", "0.001/h", 1000000, "1000000/s", int64(720*time.Hour))
	f.Add("1/h", "0.0000001/h", "1ns", "1/s", "1/s", 1, "99999999999999999999999/s", int64(0))
	f.Add("20/s", "200/s", "5s", "200/s", "200/s", 50, "200/s", int64(time.Minute))
	f.Add("1e3/s", "10/s", "2562047h", "10/s", "10/s", 10, "", int64(math.MaxInt64))
	f.Add("500/s", "500/s", "30s", "0/s", "500/s", 10, "0/s", int64(-1))
	f.Fuzz(func(t *testing.T, from, to, dur, rate2, connect string, things int, orate string, odur int64) {
		yaml := fmt.Sprintf(`name: fuzz
fleet: {things: %d, connect_rate: %q}
phases:
  - {name: ramp, duration: %q, ramp: {from: %q, to: %q}}
  - {name: steady, duration: 1s, rate: %q}
`, things, connect, dur, from, to, rate2)
		s, err := Parse("fuzz.yaml", []byte(yaml))
		if err != nil {
			return
		}
		o := Overrides{Duration: time.Duration(odur)}
		if orate != "" {
			if o.Rate, err = ParseRate(orate); err != nil {
				return
			}
		}
		if err := s.Apply(o); err != nil {
			return
		}
		p := s.Plan()
		if p.Connect.Duration < 0 {
			t.Fatalf("connect stage lasts %v", p.Connect.Duration)
		}
		phases := make([]load.Phase, len(s.Phases))
		for i, ph := range s.Phases {
			pp := p.Phases[i]
			for _, r := range []Rate{pp.Fleet, pp.PerThing, pp.PerShadow, pp.DeviceIn, pp.DeviceOut, pp.Documents, pp.Deltas} {
				if math.IsNaN(float64(r)) || math.IsInf(float64(r), 0) || r < 0 || r > MaxRate {
					t.Fatalf("phase %q plans a rate of %v", ph.Name, r)
				}
			}
			if pp.Requests < 0 || pp.Requests > load.MaxSlots {
				t.Fatalf("phase %q plans %d requests", ph.Name, pp.Requests)
			}
			phases[i] = load.Phase{Name: ph.Name, Duration: ph.Duration, From: float64(ph.From), To: float64(ph.To)}
		}
		sched, err := load.NewSchedule(phases)
		if err != nil {
			t.Fatalf("a scenario that parsed and applied has no schedule: %v", err)
		}
		var planned int64
		for _, pp := range p.Phases {
			planned += pp.Requests
		}
		if n := sched.Slots(); n != planned {
			t.Fatalf("schedule holds %d slots, the plan %d", n, planned)
		}
		if n := sched.Slots(); n > 0 {
			first, last := sched.At(0), sched.At(n-1)
			if first < 0 || last < first || last >= sched.Duration() {
				t.Fatalf("slots from %v to %v in a %v schedule", first, last, sched.Duration())
			}
		}
	})
}
