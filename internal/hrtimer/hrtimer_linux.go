package hrtimer

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// Timer sleeps on a timerfd, read through the runtime's network poller:
// the kernel's high-resolution timer wakes it within its timer slack (50 µs
// by default) rather than the runtime timers' millisecond, and no thread or
// P is held while it waits. One goroutine at a time may use a Timer; the
// nil Timer sleeps with the runtime's timer.
type Timer struct {
	f *os.File
}

// Flags of timerfd_create(2).
const (
	clockMonotonic = 1
	tfdNonblock    = syscall.O_NONBLOCK
	tfdCloexec     = syscall.O_CLOEXEC
)

// New returns a timer, or nil when the kernel has no timerfd.
func New() *Timer {
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, tfdNonblock|tfdCloexec, 0)
	if errno != 0 {
		return nil
	}
	return &Timer{f: os.NewFile(fd, "timerfd")}
}

// Sleep blocks the calling goroutine for d.
func (t *Timer) Sleep(d time.Duration) {
	if t == nil {
		time.Sleep(d)
		return
	}
	// struct itimerspec { it_interval, it_value } of timespecs.
	spec := [2]syscall.Timespec{{}, syscall.NsecToTimespec(max(int64(d), 1))}
	if _, _, errno := syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, t.f.Fd(), 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0); errno != 0 {
		time.Sleep(d)
		return
	}
	var buf [8]byte
	if _, err := t.f.Read(buf[:]); err != nil {
		time.Sleep(d)
	}
}

// Close releases the timer.
func (t *Timer) Close() {
	if t != nil {
		_ = t.f.Close()
	}
}
