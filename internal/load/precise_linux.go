package load

import (
	"time"

	"github.com/shadowload/shadowload/internal/hrtimer"
)

// preciseSleeper sleeps on a timerfd (hrtimer.FD) read through the runtime's
// network poller, in the sleeping goroutine itself. The runtime's own timers
// wake up to a millisecond late (the poller waits in whole milliseconds),
// which a worker would add to every slot it sends; the kernel's
// high-resolution timer wakes the poller within its timer slack. Arming it
// touches no runtime timer, so a worker that rearms it for every slot
// neither wakes a second goroutine nor makes the runtime walk its timer
// heap.
type preciseSleeper struct {
	t *hrtimer.FD
	kickFlag
}

// newPreciseSleeper returns a sleeper on a new timerfd, or nil when the
// kernel has none.
func newPreciseSleeper() *preciseSleeper {
	t := hrtimer.NewFD()
	if t == nil {
		return nil
	}
	return &preciseSleeper{t: t}
}

// sleep waits d, or until a kick.
func (s *preciseSleeper) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	_ = s.t.Arm(d) // also drops an expiration not yet read
	if s.kicked.Swap(false) {
		return
	}
	_ = s.t.Wait()
}

// kick ends the sleep under way, or the next one.
func (s *preciseSleeper) kick() {
	s.kicked.Store(true)
	_ = s.t.Arm(time.Nanosecond)
}

func (s *preciseSleeper) close() { _ = s.t.Close() }
