package metrics

import (
	"testing"
	"time"
)

// testStart is the start of every run the tests build.
var testStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// knownRun records a run with known values: update.accepted holds 1ms,
// 2ms, …, 100ms; update.sent counts 20000 and update.rejected 20 (Base
// update.sent); the run lasts 10s.
func knownRun(t testing.TB) *Report {
	t.Helper()
	s := NewSet()
	acc := s.Latency("update.accepted")
	s.Latency("get.accepted")
	sent := s.Counter("update.sent")
	rej := s.Counter("update.rejected", Base("update.sent"))
	c := s.collectorAt(testStart)
	r := s.NewRecorder()
	for i := int64(1); i <= 100; i++ {
		r.Record(acc, i*int64(time.Millisecond))
	}
	r.Add(sent, 20000)
	r.Add(rej, 20)
	c.Interval(testStart.Add(time.Second))
	return c.FinalAt(testStart.Add(10 * time.Second))
}
