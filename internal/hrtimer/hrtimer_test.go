package hrtimer

import (
	"testing"
	"time"
)

func TestSleepLastsAtLeastTheDuration(t *testing.T) {
	tm := New()
	defer tm.Close()
	for _, d := range []time.Duration{0, 50 * time.Microsecond, 300 * time.Microsecond, 2 * time.Millisecond} {
		start := time.Now()
		tm.Sleep(d)
		if got := time.Since(start); got < d {
			t.Errorf("Sleep(%v) returned after %v", d, got)
		}
	}
	var none *Timer
	start := time.Now()
	none.Sleep(time.Millisecond)
	if got := time.Since(start); got < time.Millisecond {
		t.Errorf("nil Timer: Sleep(1ms) returned after %v", got)
	}
}

// BenchmarkSleepLateness reports how late a 1 ms sleep wakes.
func BenchmarkSleepLateness(b *testing.B) {
	tm := New()
	defer tm.Close()
	var late time.Duration
	for b.Loop() {
		start := time.Now()
		tm.Sleep(time.Millisecond)
		late += time.Since(start) - time.Millisecond
	}
	b.ReportMetric(float64(late.Microseconds())/float64(b.N), "µs-late/op")
}
