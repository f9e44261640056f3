// Package latency parses and draws the delay distributions the emulator
// injects for calibration (fixed:20ms, uniform:5ms-50ms, normal:20ms,5ms),
// the one grammar the emulator flag and scenario files share.
package latency

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// latencyDist names the distribution a [Dist] draws from.
type latencyDist uint8

const (
	latencyNone latencyDist = iota
	latencyFixed
	latencyUniform
	latencyNormal
)

// Dist is a response delay distribution. Its zero value adds no delay.
// Build one with [Parse].
type Dist struct {
	dist latencyDist
	// a and b are the distribution's parameters: the delay for fixed,
	// minimum and maximum for uniform, mean and standard deviation for normal.
	a, b time.Duration
}

// latencySyntax is the grammar quoted by Parse's errors.
const latencySyntax = `want none, fixed:DURATION, uniform:MIN-MAX or normal:MEAN,STDDEV (e.g. fixed:20ms, uniform:5ms-50ms, normal:20ms,5ms)`

// Parse parses a latency specification: "" or "none" (no delay), fixed:20ms,
// uniform:5ms-50ms (MIN ≤ MAX) or normal:20ms,5ms (mean and standard
// deviation; draws below zero become zero). Durations use Go syntax and may
// not be negative.
func Parse(spec string) (Dist, error) {
	if spec == "" || spec == "none" {
		return Dist{}, nil
	}
	kind, args, ok := strings.Cut(spec, ":")
	if !ok {
		return Dist{}, fmt.Errorf("latency %q: missing ':' after the distribution; %s", spec, latencySyntax)
	}
	switch kind {
	case "fixed":
		d, err := parseNonNegative(spec, "delay", args)
		if err != nil {
			return Dist{}, err
		}
		return Dist{dist: latencyFixed, a: d}, nil
	case "uniform":
		lo, hi, ok := strings.Cut(args, "-")
		if !ok {
			return Dist{}, fmt.Errorf("latency %q: uniform needs MIN-MAX; %s", spec, latencySyntax)
		}
		a, err := parseNonNegative(spec, "minimum", lo)
		if err != nil {
			return Dist{}, err
		}
		b, err := parseNonNegative(spec, "maximum", hi)
		if err != nil {
			return Dist{}, err
		}
		if a > b {
			return Dist{}, fmt.Errorf("latency %q: minimum %v exceeds maximum %v; want MIN ≤ MAX", spec, a, b)
		}
		return Dist{dist: latencyUniform, a: a, b: b}, nil
	case "normal":
		mean, dev, ok := strings.Cut(args, ",")
		if !ok {
			return Dist{}, fmt.Errorf("latency %q: normal needs MEAN,STDDEV; %s", spec, latencySyntax)
		}
		a, err := parseNonNegative(spec, "mean", mean)
		if err != nil {
			return Dist{}, err
		}
		b, err := parseNonNegative(spec, "standard deviation", dev)
		if err != nil {
			return Dist{}, err
		}
		return Dist{dist: latencyNormal, a: a, b: b}, nil
	default:
		return Dist{}, fmt.Errorf("latency %q: unknown distribution %q; %s", spec, kind, latencySyntax)
	}
}

// parseNonNegative parses one duration argument of spec, naming it in errors.
func parseNonNegative(spec, what, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("latency %q: %s %q is not a duration; want one such as 20ms", spec, what, s)
	}
	if d < 0 {
		return 0, fmt.Errorf("latency %q: %s %v is negative; want a duration ≥ 0", spec, what, d)
	}
	return d, nil
}

// IsZero reports whether l adds no delay at all.
func (l Dist) IsZero() bool {
	switch l.dist {
	case latencyNone:
		return true
	case latencyFixed:
		return l.a == 0
	case latencyUniform:
		return l.b == 0
	default:
		return l.a == 0 && l.b == 0
	}
}

// Draw returns one delay drawn from l using r, or from the goroutine-local
// generator of math/rand/v2 when r is nil (safe for concurrent use).
func (l Dist) Draw(r *rand.Rand) time.Duration {
	switch l.dist {
	case latencyFixed:
		return l.a
	case latencyUniform:
		span := int64(l.b - l.a)
		if span == 0 {
			return l.a
		}
		var n int64
		if r != nil {
			n = r.Int64N(span + 1)
		} else {
			n = rand.Int64N(span + 1)
		}
		return l.a + time.Duration(n)
	case latencyNormal:
		var z float64
		if r != nil {
			z = r.NormFloat64()
		} else {
			z = rand.NormFloat64()
		}
		d := time.Duration(float64(l.a) + z*float64(l.b))
		return max(d, 0)
	default:
		return 0
	}
}

// String returns the specification l was parsed from, in canonical form.
func (l Dist) String() string {
	switch l.dist {
	case latencyFixed:
		return "fixed:" + l.a.String()
	case latencyUniform:
		return "uniform:" + l.a.String() + "-" + l.b.String()
	case latencyNormal:
		return "normal:" + l.a.String() + "," + l.b.String()
	default:
		return ""
	}
}
