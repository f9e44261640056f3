package shadowsvc

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock in nanoseconds.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() int64 { return c.ns.Load() }

func oneMessage(due int64, topic string, c *Conn) response {
	r := response{due: due, conn: c}
	r.add(topic, []byte(topic))
	return r
}

func TestSchedulerPublishesByDueTimeThenArrival(t *testing.T) {
	rec := newRecorder()
	var clock fakeClock
	q := newScheduler(rec, clock.now)
	defer q.shutdown()
	var c Conn
	dues := []int64{50, 10, 30, 10, 40, 20, 10}
	for i, d := range dues {
		c.inFlight.Add(1)
		q.push(oneMessage(d, fmt.Sprintf("%d@%d", i, d), &c))
	}
	clock.ns.Store(25)
	q.poke()
	got := rec.wait(t, 4)
	want := []string{"1@10", "3@10", "6@10", "5@20"}
	for i, w := range want {
		if got[i].topic != w {
			t.Fatalf("publish %d = %s, want %s (all: %v)", i, got[i].topic, w, got)
		}
	}
	time.Sleep(20 * time.Millisecond)
	if n := len(rec.all()); n != 4 {
		t.Fatalf("%d published with the clock at 25, want 4", n)
	}
	eventually(t, "3 in flight after 4 publishes", func() bool { return c.InFlight() == 3 })
	clock.ns.Store(100)
	q.poke()
	got = rec.wait(t, 7)
	for i, w := range []string{"2@30", "4@40", "0@50"} {
		if got[4+i].topic != w {
			t.Fatalf("publish %d = %s, want %s", 4+i, got[4+i].topic, w)
		}
	}
	eventually(t, "none in flight after all publishes", func() bool { return c.InFlight() == 0 })
}

func TestSchedulerWaitsForRealTime(t *testing.T) {
	rec := newRecorder()
	start := time.Now()
	clock := func() int64 { return int64(time.Since(start)) }
	q := newScheduler(rec, clock)
	defer q.shutdown()
	const delay = 30 * time.Millisecond
	q.push(oneMessage(int64(delay), "late", nil))
	q.push(oneMessage(0, "now", nil))
	got := rec.wait(t, 2)
	if got[0].topic != "now" || got[1].topic != "late" {
		t.Fatalf("order %v, want now then late", got)
	}
	if waited := got[1].at.Sub(start); waited < delay {
		t.Fatalf("late published after %v, want ≥ %v", waited, delay)
	}
}

func TestSchedulerShutdownDropsPendingAndReleases(t *testing.T) {
	rec := newRecorder()
	var clock fakeClock
	q := newScheduler(rec, clock.now)
	var c Conn
	for i := range 5 {
		c.inFlight.Add(1)
		q.push(oneMessage(int64(i+1), "x", &c))
	}
	q.shutdown()
	q.shutdown()
	clock.ns.Store(100)
	q.poke()
	time.Sleep(10 * time.Millisecond)
	if n := len(rec.all()); n != 0 {
		t.Fatalf("%d published after shutdown, want 0", n)
	}
	if n := c.InFlight(); n != 0 {
		t.Fatalf("in flight after shutdown = %d, want 0", n)
	}
	if n := q.pending(); n != 0 {
		t.Fatalf("pending after shutdown = %d, want 0", n)
	}
}

func TestConnAcquireHonoursTheCap(t *testing.T) {
	var c Conn
	for i := range 3 {
		if !c.acquire(3) {
			t.Fatalf("acquire %d refused under a cap of 3", i)
		}
	}
	if c.acquire(3) {
		t.Fatal("4th acquire allowed under a cap of 3")
	}
	if c.InFlight() != 3 {
		t.Fatalf("in flight = %d after a refused acquire, want 3", c.InFlight())
	}
	c.release()
	if !c.acquire(3) {
		t.Fatal("acquire after a release refused")
	}
	if !c.acquire(0) {
		t.Fatal("acquire with no cap refused")
	}
	var nilConn *Conn
	if !nilConn.acquire(1) {
		t.Fatal("nil Conn acquire refused")
	}
	nilConn.release()
}
