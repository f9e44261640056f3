package hrtimer

import (
	"testing"
	"time"
)

func TestFDWaitsAtLeastTheArmedDuration(t *testing.T) {
	fd := NewFD()
	if fd == nil {
		t.Fatal("no timerfd on Linux")
	}
	defer fd.Close()
	for _, d := range []time.Duration{0, 100 * time.Microsecond, 2 * time.Millisecond} {
		start := time.Now()
		if err := fd.Arm(d); err != nil {
			t.Fatal(err)
		}
		if err := fd.Wait(); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got < d {
			t.Errorf("Arm(%v): Wait returned after %v", d, got)
		}
	}
}

// A Wait that is under way when the timer is closed returns: its read is in
// the runtime's poller, not a blocking read(2) that only an expiration
// could end. Arming must not take the descriptor out of the poller.
func TestFDCloseEndsAWaitUnderWay(t *testing.T) {
	fd := NewFD()
	if fd == nil {
		t.Fatal("no timerfd on Linux")
	}
	for range 3 {
		if err := fd.Arm(time.Microsecond); err != nil {
			t.Fatal(err)
		}
		if err := fd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if err := fd.Arm(time.Hour); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- fd.Wait() }()
	time.Sleep(10 * time.Millisecond) // let the Wait block; the test holds either way
	if err := fd.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if err == nil {
			t.Error("Wait returned no error after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait still blocked 5s after Close")
	}
}

func TestTimerCloseAfterSleepsReturns(t *testing.T) {
	tm := New()
	for range 3 {
		tm.Sleep(100 * time.Microsecond)
	}
	closed := make(chan struct{})
	go func() { tm.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close still blocked 5s after the last Sleep")
	}
}
