package hrtimer

import "time"

// Timer sleeps until the first of two clocks fires: a timerfd read through
// the runtime's network poller, which the kernel's high-resolution timer
// wakes within its timer slack (50 µs by default) when the process is
// idle, and a runtime timer, which the scheduler checks at every switch
// when the process is busy (and a readable poller may go unnoticed for up to
// 10 ms). One goroutine at a time may sleep on a Timer; the nil Timer
// sleeps with the runtime's timer alone.
type Timer struct {
	fd    *FD
	fired chan struct{}
	done  chan struct{}
	rt    *time.Timer
}

// New returns a timer, or nil when the kernel has no timerfd. It starts a
// goroutine that Close ends.
func New() *Timer {
	fd := NewFD()
	if fd == nil {
		return nil
	}
	t := &Timer{fd: fd, fired: make(chan struct{}, 1), done: make(chan struct{}), rt: time.NewTimer(time.Hour)}
	t.rt.Stop()
	go t.read()
	return t
}

// read turns timerfd expirations into tokens on fired until Close.
func (t *Timer) read() {
	defer close(t.done)
	for {
		if err := t.fd.Wait(); err != nil {
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
		if err := t.fd.Arm(left); err != nil {
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
		_ = t.fd.Close()
		<-t.done
	}
}
