package main

import (
	"time"

	"github.com/shadowload/shadowload/scenario"
)

// overrideFlags are the command-line settings that take precedence over a
// scenario file. run, validate and plan share them, so a scenario is
// checked and planned exactly as it will run.
type overrideFlags struct {
	endpoint, bundles, rate, protocol *string
	things                            *int
	duration                          *time.Duration
}

// addOverrides registers the override flags on fs.
func addOverrides(fs *flagSet) *overrideFlags {
	return &overrideFlags{
		endpoint: fs.String("endpoint", "", `override target.endpoint: "embedded" or host:port`),
		bundles:  fs.String("bundles", "", "override target.bundles: the directory \"shadowload provision\" wrote"),
		things:   fs.Int("things", 0, "override fleet.things"),
		rate:     fs.String("rate", "", "scale the phases so the peak rate is this, e.g. 500/s"),
		duration: fs.Duration("duration", 0, "scale the phases to last this long in all, e.g. 1m"),
		protocol: fs.String("protocol", "", "override fleet.protocol: mqtt5, mqtt311, or weights such as mqtt5:70,mqtt311:30"),
	}
}

// apply applies the flags that were given to s; every error is the user's.
func (o *overrideFlags) apply(fs *flagSet, cmd string, s *scenario.Scenario) error {
	if fs.Changed("things") && *o.things < 1 {
		return usagef("%s: --things %d: want at least 1", cmd, *o.things)
	}
	if fs.Changed("duration") && *o.duration <= 0 {
		return usagef("%s: --duration %v: want a positive duration", cmd, *o.duration)
	}
	ov := scenario.Overrides{Endpoint: *o.endpoint, Bundles: *o.bundles, Things: *o.things, Duration: *o.duration}
	if *o.rate != "" {
		r, err := scenario.ParseRate(*o.rate)
		if err != nil {
			return usagef("%s: --rate: %v", cmd, err)
		}
		ov.Rate = r
	}
	if *o.protocol != "" {
		m, err := scenario.ParseProtocolMix(*o.protocol)
		if err != nil {
			return usagef("%s: --protocol: %v", cmd, err)
		}
		ov.Protocol = &m
	}
	if err := s.Apply(ov); err != nil {
		return usageError{err}
	}
	return nil
}
