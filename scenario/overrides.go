package scenario

import (
	"fmt"
	"time"

	"github.com/shadowload/shadowload/internal/load"
)

// Overrides are command-line settings that take precedence over the file.
// A zero field leaves the scenario's value alone.
type Overrides struct {
	// Endpoint replaces target.endpoint. Choosing a real endpoint drops the
	// file's emulator settings.
	Endpoint string
	// Bundles replaces target.bundles.
	Bundles string
	// Things replaces fleet.things.
	Things int
	// Rate scales every phase so the scenario's highest rate becomes Rate;
	// phases keep their shape and their proportions to one another.
	Rate Rate
	// Duration scales every phase so the phases add up to Duration.
	Duration time.Duration
	// Protocol, when set, replaces fleet.protocol.
	Protocol *load.ProtocolMix
}

// overrideSource names command-line settings in errors.
const overrideSource = "command line"

// Apply changes the scenario by the overrides and checks the result. On error
// the scenario is left unchanged.
func (s *Scenario) Apply(o Overrides) error {
	var errs Errors
	bad := func(flag, format string, args ...any) {
		errs = append(errs, &Error{Source: overrideSource, Field: flag, Msg: fmt.Sprintf(format, args...)})
	}
	t := s.Target
	if o.Endpoint != "" {
		if err := checkEndpoint(o.Endpoint); err != nil {
			bad("endpoint", "%v", err)
		}
		t.Endpoint = o.Endpoint
		if !t.Embedded() {
			t.Emulator = Emulator{}
		}
	}
	if o.Bundles != "" {
		t.Bundles = o.Bundles
	}
	if !t.Embedded() && t.Bundles == "" {
		bad("bundles", "missing; endpoint %q needs the certificate bundles written by shadowload provision", t.Endpoint)
	}
	things := s.Fleet.Things
	switch {
	case o.Things < 0:
		bad("things", "%d: want 1 or more", o.Things)
	case o.Things > MaxThings:
		bad("things", "%d: want at most %d", o.Things, MaxThings)
	case o.Things > 0:
		things = o.Things
		if pat, err := s.Fleet.namePattern(); err != nil {
			bad("things", "fleet.name: %v", err)
		} else if err := pat.Check(0, things); err != nil {
			bad("things", "fleet.name %q: %v", s.Fleet.Name, err)
		}
	}
	if !(o.Rate >= 0 && o.Rate <= MaxRate) {
		bad("rate", "%v: want a rate from 0/s to %v", o.Rate, MaxRate)
	}
	if o.Protocol != nil && o.Protocol[load.MQTT5]+o.Protocol[load.MQTT311] <= 0 {
		bad("protocol", "%v: want mqtt5, mqtt311 or weights such as mqtt5:70,mqtt311:30", *o.Protocol)
	}
	if o.Duration < 0 || o.Duration > MaxRunDuration {
		bad("duration", "%v: want a duration above zero and at most %v", o.Duration, MaxRunDuration)
	}
	if len(errs) > 0 {
		return errs
	}
	phases := append([]Phase(nil), s.Phases...)
	if o.Rate > 0 {
		scaleRates(phases, o.Rate)
	}
	if o.Duration > 0 {
		if err := scaleDurations(phases, o.Duration); err != nil {
			return Errors{{Source: overrideSource, Field: "duration", Msg: err.Error()}}
		}
	}
	s.Target, s.Fleet.Things, s.Phases = t, things, phases
	if o.Protocol != nil {
		s.Fleet.Protocol = *o.Protocol
	}
	return nil
}

// scaleRates multiplies every phase's rates so the highest becomes peak; when
// every phase is idle, all run at peak.
func scaleRates(phases []Phase, peak Rate) {
	var highest Rate
	for _, p := range phases {
		highest = max(highest, p.Peak())
	}
	for i := range phases {
		if highest == 0 {
			phases[i].From, phases[i].To = peak, peak
			continue
		}
		phases[i].From = phases[i].From / highest * peak
		phases[i].To = phases[i].To / highest * peak
	}
}

// scaleDurations stretches the phases to add up to total; the last phase
// takes the rounding so the sum is exact.
func scaleDurations(phases []Phase, total time.Duration) error {
	var sum time.Duration
	for _, p := range phases {
		sum += p.Duration
	}
	if sum <= 0 || len(phases) == 0 {
		return fmt.Errorf("the scenario has no phases to stretch")
	}
	var used time.Duration
	for i := range phases {
		if i == len(phases)-1 {
			phases[i].Duration = total - used
			break
		}
		d := time.Duration(float64(phases[i].Duration) / float64(sum) * float64(total))
		phases[i].Duration = max(d, 1)
		used += phases[i].Duration
	}
	if phases[len(phases)-1].Duration <= 0 {
		return fmt.Errorf("%v is too short for %d phases", total, len(phases))
	}
	return nil
}
