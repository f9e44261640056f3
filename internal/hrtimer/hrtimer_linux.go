package hrtimer

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// Timer sleeps until the first of two clocks fires: a timerfd read through
// the runtime's network poller, which the kernel's high-resolution timer
// wakes within its timer slack (50 µs by default) when the process is
// idle, and a runtime timer, which the scheduler checks at every switch
// when the process is busy (and a readable poller may go unnoticed for up to
// 10 ms). One goroutine at a time may sleep on a Timer; the nil Timer
// sleeps with the runtime's timer alone.
type Timer struct {
	f     *os.File
	fired chan struct{}
	done  chan struct{}
	rt    *time.Timer
}

// Flags of timerfd_create(2).
const (
	clockMonotonic = 1
	tfdNonblock    = syscall.O_NONBLOCK
	tfdCloexec     = syscall.O_CLOEXEC
)

// New returns a timer, or nil when the kernel has no timerfd. It starts a
// goroutine that Close ends.
func New() *Timer {
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, tfdNonblock|tfdCloexec, 0)
	if errno != 0 {
		return nil
	}
	t := &Timer{f: os.NewFile(fd, "timerfd"), fired: make(chan struct{}, 1), done: make(chan struct{}), rt: time.NewTimer(time.Hour)}
	t.rt.Stop()
	go t.read()
	return t
}

// read turns timerfd expirations into tokens on fired until Close.
func (t *Timer) read() {
	defer close(t.done)
	var buf [8]byte
	for {
		if _, err := t.f.Read(buf[:]); err != nil {
			return
		}
		select {
		case t.fired <- struct{}{}:
		default:
		}
	}
}

// Sleep blocks the calling goroutine for d.
func (t *Timer) Sleep(d time.Duration) {
	if t == nil {
		time.Sleep(d)
		return
	}
	deadline := time.Now().Add(d)
	// An expiration of an earlier Sleep that the runtime timer ended may
	// still arrive; waking on it only costs a turn of this loop.
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		// struct itimerspec { it_interval, it_value } of timespecs.
		spec := [2]syscall.Timespec{{}, syscall.NsecToTimespec(int64(left))}
		if _, _, errno := syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, t.f.Fd(), 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0); errno != 0 {
			time.Sleep(left)
			return
		}
		t.rt.Reset(left)
		select {
		case <-t.fired:
			t.rt.Stop()
		case <-t.rt.C:
		}
	}
}

// Close releases the timer and ends its goroutine.
func (t *Timer) Close() {
	if t != nil {
		_ = t.f.Close()
		<-t.done
	}
}
