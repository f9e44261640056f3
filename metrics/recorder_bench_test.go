package metrics

import (
	"sync/atomic"
	"testing"
	"time"
)

func BenchmarkRecorderRecord(b *testing.B) {
	s := NewSet()
	id := s.Latency("update.accepted")
	r := s.NewRecorder()
	r.Record(id, int64(time.Millisecond))
	b.ReportAllocs()
	v := int64(time.Millisecond)
	for b.Loop() {
		r.Record(id, v)
		v = v*7%int64(time.Second) + int64(time.Microsecond)
	}
}

func BenchmarkRecorderAdd(b *testing.B) {
	s := NewSet()
	id := s.Counter("update.sent")
	r := s.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		r.Add(id, 1)
	}
}

// BenchmarkRecorderRecordParallel records from every benchmark goroutine,
// each with its own recorder, while the collector ticks every 10ms: a
// hundred times the rate a run uses, to make swapping contention visible.
func BenchmarkRecorderRecordParallel(b *testing.B) {
	s := NewSet()
	id := s.Latency("update.accepted")
	sent := s.Counter("update.sent")
	c := s.Collector()
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			time.Sleep(10 * time.Millisecond)
			c.Interval(time.Now())
		}
	}()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := s.NewRecorder()
		v := int64(time.Millisecond)
		for pb.Next() {
			r.Record(id, v)
			r.Add(sent, 1)
			v = v*7%int64(time.Second) + int64(time.Microsecond)
		}
	})
	b.StopTimer()
	stop.Store(true)
	<-done
}

// BenchmarkCollectorInterval is one interval over 64 recorders that each
// recorded 1000 values into two latency metrics.
func BenchmarkCollectorInterval(b *testing.B) {
	s := NewSet()
	a := s.Latency("update.accepted")
	d := s.Latency("delta")
	s.Counter("update.sent")
	c := s.Collector()
	rs := make([]*Recorder, 64)
	for i := range rs {
		rs[i] = s.NewRecorder()
	}
	b.ReportAllocs()
	now := time.Now()
	for b.Loop() {
		b.StopTimer()
		for _, r := range rs {
			for v := range int64(1000) {
				r.Record(a, v*v*50+1000)
				r.Record(d, v*1000+1000)
			}
		}
		b.StartTimer()
		now = now.Add(time.Second)
		c.Interval(now)
	}
}
