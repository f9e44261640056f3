// Package load drives a paced fleet of shadow clients and records what came
// back: the open-model engine behind "shadowload run". It talks to the
// target through a Transport (package mqtt5 for MQTT 5) and reads time from
// a Clock, so its holds, time-outs, redials and checks run in unit tests
// without sockets or sleeps. Besides the schedule and the workers it holds
// what judges a run's numbers: the names of the metrics it records, the
// read-back of every shadow after the schedule, and the Validity bounds.
package load

import (
	"fmt"
	"math"
	"time"
)

// MaxSlots bounds the requests one schedule may hold. Slot indexes and the
// float arithmetic that places them stay exact far beyond it (2^53), and no
// run could send more: a million requests a second for a month is 2.6e12.
const MaxSlots = 1 << 46

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

// NewSchedule lays out the slots of the phases, one after another. It
// refuses a phase whose rate is negative or not finite, a duration that is
// negative or makes the schedule outlast time.Duration, and a schedule of
// more than MaxSlots requests: none of them can be run, and each would make
// the slot arithmetic overflow.
func NewSchedule(phases []Phase) (*Schedule, error) {
	s := &Schedule{}
	var offset time.Duration
	for n, p := range phases {
		switch {
		case !finiteRate(p.From) || !finiteRate(p.To):
			return nil, fmt.Errorf("phase %d (%q): rate %v→%v: want finite rates of 0/s or more", n, p.Name, p.From, p.To)
		case p.Duration < 0:
			return nil, fmt.Errorf("phase %d (%q): duration %v is negative", n, p.Name, p.Duration)
		case offset > math.MaxInt64-p.Duration:
			return nil, fmt.Errorf("phase %d (%q): the phases last longer than %v", n, p.Name, time.Duration(math.MaxInt64))
		}
		// (a+b)·D/2 bounds the phase's slots from above; checked before
		// phaseSlots so its search never meets numbers it cannot count.
		if est := (p.From + p.To) * p.Duration.Seconds() / 2; est > float64(MaxSlots-s.total) {
			return nil, fmt.Errorf("phase %d (%q): %.3g requests; a schedule holds at most %d", n, p.Name, est, int64(MaxSlots))
		}
		sp := schedPhase{Phase: p, offset: offset, first: s.total, count: phaseSlots(p)}
		s.phases = append(s.phases, sp)
		s.total += sp.count
		offset += p.Duration
	}
	return s, nil
}

// finiteRate reports whether r is a rate a schedule can hold: finite, 0 or more.
func finiteRate(r float64) bool { return r >= 0 && !math.IsInf(r, 1) }

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
//
// A time at or past the phase's end is returned as the end, so a slot that
// does not fit can never wrap around to a negative duration.
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
	if !(den > 0) {
		return p.Duration
	}
	secs := 2 * kf / den
	if !(secs < d) {
		return p.Duration
	}
	return min(time.Duration(secs*float64(time.Second)), p.Duration)
}

// phaseSlots counts the slots that fall inside the phase: those whose time is
// before its end.
func phaseSlots(p Phase) int64 {
	if p.Duration <= 0 || (p.From <= 0 && p.To <= 0) {
		return 0
	}
	// n(D) = (a+b)·D/2 slots have begun by the end; slot k is inside when
	// slotTime(k) < D, so the count is ceil(n(D)) corrected for rounding.
	// NewSchedule has checked n(D) against MaxSlots, and float rounding
	// moves the estimate by a few slots at most: each search is bounded.
	n := int64(math.Ceil((p.From + p.To) * p.Duration.Seconds() / 2))
	for step := 0; step < maxSlotCorrection && n > 0 && slotTime(p, n-1) >= p.Duration; step++ {
		n--
	}
	for step := 0; step < maxSlotCorrection && slotTime(p, n) < p.Duration; step++ {
		n++
	}
	return n
}

// maxSlotCorrection bounds how far phaseSlots moves its estimate.
const maxSlotCorrection = 1 << 10
