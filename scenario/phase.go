package scenario

import (
	"math"
	"time"
)

// RateAt gives the whole-fleet request rate at elapsed time into the phase:
// From at the start, To at the end, linear between, clamped outside.
func (p Phase) RateAt(elapsed time.Duration) Rate {
	if p.Duration <= 0 || elapsed <= 0 {
		return p.From
	}
	if elapsed >= p.Duration {
		return p.To
	}
	f := float64(elapsed) / float64(p.Duration)
	return p.From + Rate(f)*(p.To-p.From)
}

// Peak is the highest rate of the phase.
func (p Phase) Peak() Rate { return max(p.From, p.To) }

// Requests is the number of requests the phase schedules: the integral of
// its rate over its duration, rounded down.
func (p Phase) Requests() int64 {
	return int64(math.Floor(float64(p.From+p.To) / 2 * p.Duration.Seconds()))
}

// Slot gives the intended send time of request i of the phase, counted from
// 0, as an offset from the phase's start: the time at which the rate's
// integral reaches i. ok is false when the phase ends before it.
func (p Phase) Slot(i int64) (at time.Duration, ok bool) {
	if i < 0 || i >= p.Requests() {
		return 0, false
	}
	n := float64(i)
	b := float64(p.From)
	a := float64(p.To-p.From) / (2 * p.Duration.Seconds())
	var t float64
	if math.Abs(a) < 1e-12 {
		t = n / b
	} else {
		// The rate's integral is a·t² + b·t; this root avoids cancellation.
		disc := b*b + 4*a*n
		t = 2 * n / (b + math.Sqrt(max(disc, 0)))
	}
	if t != t || t < 0 {
		return 0, false
	}
	at = time.Duration(t * float64(time.Second))
	return min(at, p.Duration), true
}
