package scenario

import (
	"fmt"
	"strings"
	"time"
)

// LatencyKind is the distribution of an injected delay.
type LatencyKind int

// The delay distributions the embedded emulator can inject.
const (
	// LatencyNone adds no delay; it is the zero value.
	LatencyNone LatencyKind = iota
	// LatencyFixed adds A every time.
	LatencyFixed
	// LatencyUniform adds a delay drawn uniformly from A to B.
	LatencyUniform
	// LatencyNormal adds a delay drawn from a normal distribution of mean A
	// and standard deviation B, never below zero.
	LatencyNormal
)

// Latency is a delay distribution: "fixed:20ms", "uniform:10ms-30ms" or
// "normal:20ms,5ms".
type Latency struct {
	// Kind is the distribution.
	Kind LatencyKind
	// A and B are its parameters; see LatencyKind.
	A, B time.Duration
}

// ParseLatency parses a delay distribution: "fixed:D", "uniform:D-D" or
// "normal:MEAN,STDDEV" with Go durations; "none" is no delay.
func ParseLatency(s string) (Latency, error) {
	if s == "none" {
		return Latency{}, nil
	}
	kind, args, ok := strings.Cut(s, ":")
	if !ok {
		return Latency{}, fmt.Errorf("latency %q: want fixed:20ms, uniform:10ms-30ms, normal:20ms,5ms or none", s)
	}
	switch kind {
	case "fixed":
		d, err := nonNegativeDuration(s, args)
		return Latency{Kind: LatencyFixed, A: d}, err
	case "uniform":
		lo, hi, ok := strings.Cut(args, "-")
		if !ok {
			return Latency{}, fmt.Errorf("latency %q: want uniform:MIN-MAX such as uniform:10ms-30ms", s)
		}
		a, err := nonNegativeDuration(s, lo)
		if err != nil {
			return Latency{}, err
		}
		b, err := nonNegativeDuration(s, hi)
		if err != nil {
			return Latency{}, err
		}
		if a > b {
			return Latency{}, fmt.Errorf("latency %q: minimum %v is above maximum %v", s, a, b)
		}
		return Latency{Kind: LatencyUniform, A: a, B: b}, nil
	case "normal":
		m, sd, ok := strings.Cut(args, ",")
		if !ok {
			return Latency{}, fmt.Errorf("latency %q: want normal:MEAN,STDDEV such as normal:20ms,5ms", s)
		}
		a, err := nonNegativeDuration(s, m)
		if err != nil {
			return Latency{}, err
		}
		b, err := nonNegativeDuration(s, sd)
		if err != nil {
			return Latency{}, err
		}
		return Latency{Kind: LatencyNormal, A: a, B: b}, nil
	}
	return Latency{}, fmt.Errorf("latency %q: unknown distribution %q; want fixed, uniform or normal", s, kind)
}

func nonNegativeDuration(whole, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("latency %q: %q is not a duration such as 20ms", whole, s)
	}
	if d < 0 {
		return 0, fmt.Errorf("latency %q: %v is negative", whole, d)
	}
	return d, nil
}

// String writes the distribution as ParseLatency reads it.
func (l Latency) String() string {
	switch l.Kind {
	case LatencyFixed:
		return "fixed:" + l.A.String()
	case LatencyUniform:
		return "uniform:" + l.A.String() + "-" + l.B.String()
	case LatencyNormal:
		return "normal:" + l.A.String() + "," + l.B.String()
	}
	return "none"
}
