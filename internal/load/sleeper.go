package load

import (
	"sync/atomic"
	"time"
)

// sleeper is how a worker waits between its slots: for a duration, or until
// something kicks it (a request ending while the worker waits for the last
// ones, the run stopping). A kick that comes while the worker is not
// asleep ends its next sleep at once: a waiter checks what it waits for
// after every wake.
type sleeper interface {
	sleep(d time.Duration)
	kick()
	close()
}

// newSleeper returns the sleeper of a worker on clk: on the system clock a
// precise one (precise_linux.go) where the kernel has it, the clock's own
// timers otherwise (a test's hand-moved clock, or a synctest bubble's).
func newSleeper(clk Clock) sleeper {
	if _, ok := clk.(systemClock); ok {
		if s := newPreciseSleeper(); s != nil {
			return s
		}
	}
	return &clockSleeper{t: clk.NewTimer(time.Hour), kicks: make(chan struct{}, 1)}
}

// clockSleeper sleeps on a Clock's timer.
type clockSleeper struct {
	t     Timer
	kicks chan struct{}
}

func (s *clockSleeper) sleep(d time.Duration) {
	s.t.Reset(d)
	select {
	case <-s.t.C():
	case <-s.kicks:
		s.t.Stop()
	}
}

func (s *clockSleeper) kick() {
	select {
	case s.kicks <- struct{}{}:
	default:
	}
}

func (s *clockSleeper) close() { s.t.Stop() }

// kickFlag is the part of a sleeper every kick sets, so that a kick between
// arming and sleeping is not lost.
type kickFlag struct{ kicked atomic.Bool }
