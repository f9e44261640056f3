package metrics

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

func TestRecordClampsOutOfRangeValuesAndCountsThem(t *testing.T) {
	s := NewSet()
	id := s.Latency("update.accepted")
	c := s.collectorAt(testStart)
	r := s.NewRecorder()
	for _, v := range []int64{-5, 0, 500, int64(61 * time.Second), math.MaxInt64, int64(time.Millisecond)} {
		r.Record(id, v)
	}
	rep := c.FinalAt(testStart.Add(time.Second))
	lr := rep.Latencies["update.accepted"]
	if lr.BelowRange != 3 || lr.AboveRange != 2 || lr.Count != 6 {
		t.Fatalf("below, above, count = %d, %d, %d; want 3, 2, 6", lr.BelowRange, lr.AboveRange, lr.Count)
	}
	h, err := rep.Histogram("update.accepted")
	if err != nil {
		t.Fatal(err)
	}
	if !h.ValuesAreEquivalent(h.Min(), int64(LowestLatency)) {
		t.Errorf("min = %d, want equivalent to %d", h.Min(), LowestLatency)
	}
	if !h.ValuesAreEquivalent(h.Max(), int64(HighestLatency)) {
		t.Errorf("max = %d, want equivalent to %d", h.Max(), HighestLatency)
	}
}

// TestIntervalsAddUpToFinalUnderConcurrency records from several goroutines
// while the collector ticks, and checks that nothing is lost or counted
// twice: interval counts sum to the final counts, and the final histogram
// equals one built from every value directly.
func TestIntervalsAddUpToFinalUnderConcurrency(t *testing.T) {
	const workers, perWorker = 4, 20000
	s := NewSet()
	lat := s.Latency("update.accepted")
	other := s.Latency("delta")
	sent := s.Counter("update.sent")
	c := s.collectorAt(testStart)

	value := func(w, i int) int64 { return int64(w*7919+i*104729)%int64(2*time.Second) + int64(time.Microsecond) }
	// Workers wait for a fresh interval every 2000 values, so recording and
	// collecting interleave however the scheduler runs them.
	var ticked atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		r := s.NewRecorder()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				if i%2000 == 1999 {
					for seen := ticked.Load(); ticked.Load() == seen; {
						runtime.Gosched()
					}
				}
				r.Record(lat, value(w, i))
				r.Add(sent, 2)
				if i%10 == 0 {
					r.Record(other, int64(time.Millisecond))
				}
			}
		}()
	}
	done := make(chan struct{})
	ticks := make(chan int)
	go func() {
		n := 0
		now := testStart
		for {
			select {
			case <-done:
				ticks <- n
				return
			default:
			}
			now = now.Add(time.Second)
			c.Interval(now)
			ticked.Add(1)
			n++
		}
	}()
	wg.Wait()
	close(done)
	n := <-ticks
	if n < perWorker/2000 {
		t.Fatalf("only %d intervals while recording, want at least %d", n, perWorker/2000)
	}
	rep := c.FinalAt(testStart.Add(time.Duration(n+1) * time.Second))

	var sumSent, sumLat, sumOther int64
	withData := 0
	for _, iv := range rep.Intervals {
		if iv.Latencies["update.accepted"].Count > 0 {
			withData++
		}
		sumSent += iv.Counters["update.sent"]
		sumLat += iv.Latencies["update.accepted"].Count
		sumOther += iv.Latencies["delta"].Count
	}
	if withData < 2 {
		t.Errorf("values landed in %d intervals, want them spread over several", withData)
	}
	if want := int64(2 * workers * perWorker); sumSent != want || rep.Counters["update.sent"] != want {
		t.Errorf("update.sent: intervals %d, final %d, want %d", sumSent, rep.Counters["update.sent"], want)
	}
	if want := int64(workers * perWorker); sumLat != want || rep.Latencies["update.accepted"].Count != want {
		t.Errorf("update.accepted: intervals %d, final %d, want %d", sumLat, rep.Latencies["update.accepted"].Count, want)
	}
	if want := int64(workers * perWorker / 10); sumOther != want {
		t.Errorf("delta: intervals %d, want %d", sumOther, want)
	}

	ref := newHistogram()
	for w := range workers {
		for i := range perWorker {
			if err := ref.RecordValue(value(w, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := rep.Histogram("update.accepted")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equals(ref) {
		t.Errorf("merged histogram differs from the reference: count %d vs %d, p99 %d vs %d",
			got.TotalCount(), ref.TotalCount(), got.ValueAtQuantile(99), ref.ValueAtQuantile(99))
	}
}

func TestIntervalReportsOnlyWhatHappenedSinceTheLastOne(t *testing.T) {
	s := NewSet()
	lat := s.Latency("update.accepted")
	sent := s.Counter("update.sent")
	c := s.collectorAt(testStart)
	r := s.NewRecorder()

	r.Record(lat, int64(10*time.Millisecond))
	r.Add(sent, 3)
	iv1 := c.Interval(testStart.Add(time.Second))
	iv2 := c.Interval(testStart.Add(2 * time.Second))
	r.Record(lat, int64(20*time.Millisecond))
	r.Record(lat, int64(30*time.Millisecond))
	iv3 := c.Interval(testStart.Add(3500 * time.Millisecond))

	if iv1.Counters["update.sent"] != 3 || iv1.Latencies["update.accepted"].Count != 1 || iv1.Elapsed != time.Second {
		t.Errorf("interval 1 = %+v", iv1)
	}
	if _, ok := iv2.Latencies["update.accepted"]; ok || iv2.Counters["update.sent"] != 0 {
		t.Errorf("interval 2 should be empty, got %+v", iv2)
	}
	if iv3.Latencies["update.accepted"].Count != 2 || iv3.Elapsed != 1500*time.Millisecond {
		t.Errorf("interval 3 = %+v", iv3)
	}
	if got := iv3.Latencies["update.accepted"].Min; got < float64(19*time.Millisecond) {
		t.Errorf("interval 3 min = %v, want about 20ms (the 10ms value belongs to interval 1)", got)
	}
	rep := c.FinalAt(testStart.Add(4 * time.Second))
	if len(rep.Intervals) != 3 {
		t.Errorf("final report has %d intervals, want 3 (an empty last one is dropped)", len(rep.Intervals))
	}
	if rep.Latencies["update.accepted"].Count != 3 || rep.Duration != 4*time.Second {
		t.Errorf("final count %d duration %v, want 3 and 4s", rep.Latencies["update.accepted"].Count, rep.Duration)
	}
}

func TestSummaryMatchesHistogram(t *testing.T) {
	rep := knownRun(t)
	lr := rep.Latencies["update.accepted"]
	h := hdrhistogram.New(int64(LowestLatency), int64(HighestLatency), SignificantDigits)
	for i := int64(1); i <= 100; i++ {
		_ = h.RecordValue(i * int64(time.Millisecond))
	}
	want := Summary{Count: 100, Min: float64(h.Min()), Mean: h.Mean(), P50: float64(h.ValueAtQuantile(50)),
		P90: float64(h.ValueAtQuantile(90)), P99: float64(h.ValueAtQuantile(99)), P999: float64(h.ValueAtQuantile(99.9)), Max: float64(h.Max())}
	if lr.Summary != want {
		t.Errorf("summary = %+v, want %+v", lr.Summary, want)
	}
	if got := rep.Latencies["get.accepted"]; got.Count != 0 || got.Histogram == "" {
		t.Errorf("unrecorded latency = %+v, want zero count with an encoded empty histogram", got)
	}
}

func TestRecordDoesNotAllocateOnceWarm(t *testing.T) {
	s := NewSet()
	lat := s.Latency("update.accepted")
	sent := s.Counter("update.sent")
	c := s.collectorAt(testStart)
	r := s.NewRecorder()
	r.Record(lat, int64(time.Millisecond))
	c.Interval(testStart.Add(time.Second))
	r.Record(lat, int64(time.Millisecond))
	c.Interval(testStart.Add(2 * time.Second))
	allocs := testing.AllocsPerRun(1000, func() {
		r.Record(lat, int64(3*time.Millisecond))
		r.Add(sent, 1)
	})
	if allocs != 0 {
		t.Errorf("Record and Add allocate %v times per call, want 0", allocs)
	}
}

func TestUnknownIDPanicsWithReason(t *testing.T) {
	s := NewSet()
	s.Counter("update.sent")
	r := s.NewRecorder()
	for name, do := range map[string]func(){"Record": func() { r.Record(7, 1000) }, "Add": func() { r.Add(7, 1) }} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if msg, _ := recover().(string); msg != "metrics: metric ID 7 was not declared in this recorder's set (it has 1)" {
					t.Errorf("panic %q", msg)
				}
			}()
			do()
		})
	}
}

func TestSnapshotHoldsTheTotalsOfTheLastInterval(t *testing.T) {
	s := NewSet()
	acc := s.Latency("update.accepted")
	s.Latency("get.accepted")
	sent := s.Counter("update.sent", Planned("update.scheduled"))
	s.Counter("update.scheduled")
	c := s.collectorAt(testStart)
	r := s.NewRecorder()
	r.Record(acc, int64(time.Millisecond))
	r.Add(sent, 3)
	c.Interval(testStart.Add(time.Second))
	r.Add(sent, 4) // after the interval: not in the snapshot yet
	snap := c.Snapshot("update.accepted")
	if snap.Counters["update.sent"] != 3 || snap.Latencies["update.accepted"].Count != 1 || snap.Duration != time.Second {
		t.Errorf("snapshot %+v; want update.sent 3, one accepted, 1s", snap)
	}
	if _, ok := snap.Latencies["get.accepted"]; ok {
		t.Error("snapshot encoded a latency it was not asked for")
	}
	if snap.Planned["update.sent"] != "update.scheduled" {
		t.Errorf("snapshot planned = %v", snap.Planned)
	}
	if final := c.FinalAt(testStart.Add(2 * time.Second)); final.Counters["update.sent"] != 7 {
		t.Errorf("final update.sent = %d after a snapshot, want 7", final.Counters["update.sent"])
	}
}

func TestIntervalsKeepHistogramsThatAddUpToTheRun(t *testing.T) {
	s := NewSet()
	lat := s.Latency("update.accepted")
	s.Latency("get.accepted")
	c := s.collectorAt(testStart)
	r := s.NewRecorder()
	for sec := range 3 {
		for v := range 100 * (sec + 1) {
			r.Record(lat, int64(v+1)*int64(time.Millisecond))
		}
		c.SetGauge("things.up", float64(10*(sec+1)))
		c.Interval(testStart.Add(time.Duration(sec+1) * time.Second))
	}
	rep := c.FinalAt(testStart.Add(3 * time.Second))
	sum := newHistogram()
	for i, iv := range rep.Intervals {
		if _, ok := iv.Histograms["get.accepted"]; ok {
			t.Errorf("interval %d keeps a histogram of get.accepted, which recorded nothing", i)
		}
		h, err := iv.Histogram("update.accepted")
		if err != nil {
			t.Fatal(err)
		}
		if got := summarize(h); got != iv.Latencies["update.accepted"] {
			t.Errorf("interval %d: histogram summary %+v, interval says %+v", i, got, iv.Latencies["update.accepted"])
		}
		sum.Merge(h)
		if got := iv.Gauges["things.up"]; got != float64(10*(i+1)) {
			t.Errorf("interval %d: gauge things.up = %v, want %d", i, got, 10*(i+1))
		}
	}
	total, err := rep.Histogram("update.accepted")
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Equals(total) {
		t.Error("the intervals' histograms do not add up to the run's")
	}
}
