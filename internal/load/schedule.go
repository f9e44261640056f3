// Package load drives a paced fleet of shadow clients over MQTT and records
// what came back: the open-model engine behind "shadowload run".
package load

import (
	"math"
	"time"
)

// Phase is one stretch of the schedule: a whole-fleet request rate that is
// constant (From == To) or ramps linearly from From to To over Duration.
type Phase struct {
	Name     string
	Duration time.Duration
	From, To float64 // requests per second for the whole fleet
}

// Schedule gives every request of a run its intended send time. Slot i of the
// run (counted across phases) is due at Start + At(i); slots are computed
// directly from the rate, never from how fast earlier sends went, so a slow
// target cannot slow the schedule down.
type Schedule struct {
	phases []schedPhase
	total  int64
}

type schedPhase struct {
	Phase
	offset time.Duration // start of the phase from the start of the run
	first  int64         // index of the phase's first slot
	count  int64         // slots in the phase
}

// NewSchedule lays out the slots of the phases, one after another.
func NewSchedule(phases []Phase) *Schedule {
	s := &Schedule{}
	var offset time.Duration
	for _, p := range phases {
		sp := schedPhase{Phase: p, offset: offset, first: s.total, count: phaseSlots(p)}
		s.phases = append(s.phases, sp)
		s.total += sp.count
		offset += p.Duration
	}
	return s
}

// Slots is the number of requests the whole schedule sends.
func (s *Schedule) Slots() int64 { return s.total }

// Duration is the length of the whole schedule.
func (s *Schedule) Duration() time.Duration {
	var d time.Duration
	for _, p := range s.phases {
		d += p.Duration
	}
	return d
}

// PhaseOf returns the index of the phase slot i belongs to.
func (s *Schedule) PhaseOf(i int64) int {
	for n := len(s.phases) - 1; n > 0; n-- {
		if i >= s.phases[n].first {
			return n
		}
	}
	return 0
}

// PhaseAt returns the index of the phase running at elapsed, or -1 when the
// schedule has ended.
func (s *Schedule) PhaseAt(elapsed time.Duration) int {
	for n, p := range s.phases {
		if elapsed < p.offset+p.Duration {
			return n
		}
	}
	return -1
}

// RateAt is the scheduled whole-fleet rate at elapsed, in requests per second.
func (s *Schedule) RateAt(elapsed time.Duration) float64 {
	n := s.PhaseAt(elapsed)
	if n < 0 {
		return 0
	}
	p := s.phases[n]
	f := float64(elapsed-p.offset) / float64(p.Duration)
	return p.From + (p.To-p.From)*f
}

// At returns when slot i is due, measured from the start of the run. It is
// only meaningful for 0 <= i < Slots().
func (s *Schedule) At(i int64) time.Duration {
	p := &s.phases[s.PhaseOf(i)]
	return p.offset + slotTime(p.Phase, i-p.first)
}

// slotTime solves n(t) = k for t, where n(t) = a·t + (b−a)·t²/(2D) counts the
// slots a phase has begun by time t. The form 2k / (a + √(a² + 2(b−a)k/D)) is
// the quadratic's root without cancellation, and covers a constant rate
// (b = a: t = k/a) and a ramp from zero (a = 0) alike.
func slotTime(p Phase, k int64) time.Duration {
	if k == 0 {
		return 0
	}
	a, b, d := p.From, p.To, p.Duration.Seconds()
	kf := float64(k)
	disc := a*a + 2*(b-a)*kf/d
	if disc < 0 {
		disc = 0
	}
	den := a + math.Sqrt(disc)
	if den <= 0 {
		return p.Duration
	}
	return time.Duration(2 * kf / den * float64(time.Second))
}

// phaseSlots counts the slots that fall inside the phase: those whose time is
// before its end.
func phaseSlots(p Phase) int64 {
	if p.Duration <= 0 || (p.From <= 0 && p.To <= 0) {
		return 0
	}
	// n(D) = (a+b)·D/2 slots have begun by the end; slot k is inside when
	// slotTime(k) < D, so the count is ceil(n(D)) corrected for rounding.
	n := int64(math.Ceil((p.From + p.To) * p.Duration.Seconds() / 2))
	for n > 0 && slotTime(p, n-1) >= p.Duration {
		n--
	}
	for slotTime(p, n) < p.Duration {
		n++
	}
	return n
}
