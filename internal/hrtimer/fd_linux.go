package hrtimer

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// FD is a timerfd read through the runtime's network poller: Arm sets it to
// expire once, Wait blocks the calling goroutine until it has. The kernel's
// high-resolution timer wakes the poller within its timer slack (50 µs by
// default); arming is one system call and touches no runtime timer.
type FD struct {
	// fd is the descriptor as timerfd_create returned it, for
	// timerfd_settime: os.File.Fd would switch the descriptor to blocking
	// mode, taking its reads out of the poller.
	fd uintptr
	f  *os.File
}

// Flags of timerfd_create(2).
const (
	clockMonotonic = 1
	tfdNonblock    = syscall.O_NONBLOCK
	tfdCloexec     = syscall.O_CLOEXEC
)

// NewFD returns a disarmed timerfd, or nil when the kernel has none.
func NewFD() *FD {
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, tfdNonblock|tfdCloexec, 0)
	if errno != 0 {
		return nil
	}
	return &FD{fd: fd, f: os.NewFile(fd, "timerfd")}
}

// Arm sets the timer to expire d from now (at once for d <= 0), replacing
// any earlier setting and dropping an expiration not yet waited for.
func (t *FD) Arm(d time.Duration) error {
	// struct itimerspec { it_interval, it_value } of timespecs; a zero
	// it_value would disarm.
	spec := [2]syscall.Timespec{{}, syscall.NsecToTimespec(max(int64(d), 1))}
	if _, _, errno := syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, t.fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0); errno != 0 {
		return errno
	}
	return nil
}

// Wait blocks until the timer has expired since it was last waited for, or
// until Close.
func (t *FD) Wait() error {
	var buf [8]byte
	_, err := t.f.Read(buf[:])
	return err
}

// Close releases the timer; a Wait under way returns an error.
func (t *FD) Close() error { return t.f.Close() }
