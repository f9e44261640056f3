package scenario

import (
	"time"

	"github.com/shadowload/shadowload/internal/load"
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

// Requests is the number of requests the phase schedules: the slots of the
// load engine's schedule that fall inside the phase. A phase the schedule
// refuses (which parsing and overrides rule out) has none.
func (p Phase) Requests() int64 {
	s, err := load.NewSchedule([]load.Phase{{Duration: p.Duration, From: float64(p.From), To: float64(p.To)}})
	if err != nil {
		return 0
	}
	return s.Slots()
}
