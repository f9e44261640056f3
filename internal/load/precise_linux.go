package load

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// preciseSleeper sleeps on a timerfd read through the runtime's network
// poller, in the sleeping goroutine itself. The runtime's own timers wake
// up to a millisecond late (the poller waits in whole milliseconds), which
// a worker would add to every slot it sends; the kernel's high-resolution
// timer wakes the poller within its timer slack (50 µs by default).
// Arming it is one system call and touches no runtime timer, so a worker
// that rearms it for every slot neither wakes a second goroutine nor makes
// the runtime walk its timer heap.
type preciseSleeper struct {
	fd uintptr  // the timerfd, armed with timerfd_settime
	f  *os.File // the same descriptor, read through the poller
	kickFlag
}

// Flags of timerfd_create(2).
const (
	clockMonotonic = 1
	tfdNonblock    = syscall.O_NONBLOCK
	tfdCloexec     = syscall.O_CLOEXEC
)

// newPreciseSleeper returns a sleeper on a new timerfd, or nil when the
// kernel has none.
func newPreciseSleeper() *preciseSleeper {
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, tfdNonblock|tfdCloexec, 0)
	if errno != 0 {
		return nil
	}
	// os.File.Fd would put the descriptor in blocking mode, out of the
	// poller: the raw descriptor is kept for timerfd_settime instead.
	return &preciseSleeper{fd: fd, f: os.NewFile(fd, "timerfd")}
}

// sleep waits d, or until a kick.
func (s *preciseSleeper) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	s.set(d) // also drops an expiration not yet read
	if s.kicked.Swap(false) {
		return
	}
	var buf [8]byte
	_, _ = s.f.Read(buf[:])
}

// kick ends the sleep under way, or the next one.
func (s *preciseSleeper) kick() {
	s.kicked.Store(true)
	s.set(time.Nanosecond)
}

// set arms the timerfd to expire d from now.
func (s *preciseSleeper) set(d time.Duration) {
	// struct itimerspec { it_interval, it_value } of timespecs.
	spec := [2]syscall.Timespec{{}, syscall.NsecToTimespec(int64(d))}
	_, _, _ = syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, s.fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
}

func (s *preciseSleeper) close() { _ = s.f.Close() }
