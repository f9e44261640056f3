package shadowsvc

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// discard is a Publisher that counts and drops messages.
type discard struct{ n atomic.Int64 }

func (d *discard) Publish(string, []byte) { d.n.Add(1) }

// benchTopics returns the update topics of n shadows over n/4 things, a
// quarter of them classic.
func benchTopics(n int) []string {
	topics := make([]string, n)
	for i := range topics {
		name := ""
		if i%4 != 0 {
			name = fmt.Sprintf("s%d", i%4)
		}
		topics[i] = shadowTopic(fmt.Sprintf("thing-%05d", i/4), name, "update")
	}
	return topics
}

func benchmarkHandle(b *testing.B, cfg Config, payload []byte) {
	pub := &discard{}
	s, err := New(cfg, pub)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	topics := benchTopics(4096)
	for _, t := range topics {
		s.Handle(nil, t, payload)
	}
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var c Conn
		i := next.Add(1) * 7919
		for pb.Next() {
			i++
			s.Handle(&c, topics[i%uint64(len(topics))], payload)
		}
	})
	b.StopTimer()
	if st := s.Stats(); st.Accepted == 0 {
		b.Fatalf("no accepted updates: %+v", st)
	}
}

func BenchmarkHandleUpdate(b *testing.B) {
	benchmarkHandle(b, Config{}, []byte(`{"state":{"reported":{"temp":21.5,"on":true}},"clientToken":"bench"}`))
}

func BenchmarkHandleUpdateWithDelta(b *testing.B) {
	benchmarkHandle(b, Config{}, []byte(`{"state":{"desired":{"temp":22},"reported":{"temp":21.5}},"clientToken":"bench"}`))
}

func BenchmarkHandleUpdateLimited(b *testing.B) {
	benchmarkHandle(b, Config{RequestsPerSecond: 1 << 30, InFlightPerConn: 10}, []byte(`{"state":{"reported":{"temp":21.5,"on":true}},"clientToken":"bench"}`))
}

func BenchmarkHandleUpdateScheduled(b *testing.B) {
	benchmarkHandle(b, Config{Latency: "fixed:0s", Stall: "1h:1ns"}, []byte(`{"state":{"reported":{"temp":21.5,"on":true}},"clientToken":"bench"}`))
}

func BenchmarkHandleIgnoredTopic(b *testing.B) {
	s, err := New(Config{}, &discard{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	payload := []byte(`{}`)
	b.ReportAllocs()
	for b.Loop() {
		s.Handle(nil, "$aws/things/t/shadow/update/accepted", payload)
	}
}

// benchmarkDurable drives updates of 2000 shadows from 64 goroutines, as
// 64 connections with one request in flight each, with the given
// durability, and reports the process's CPU per update beside ns/op.
func benchmarkDurable(b *testing.B, d Durability) {
	pub := &discard{}
	s, err := New(Config{DataDir: b.TempDir(), Durability: d}, pub)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	topics := make([]string, 2000)
	for i := range topics {
		topics[i] = shadowTopic(fmt.Sprintf("sim-%05d", i), "", "update")
	}
	payload := []byte(`{"state":{"reported":{"temperature":21.5,"humidity":40.25,"battery":87,"seq":12345}},"clientToken":"bench"}`)
	var next atomic.Uint64
	b.SetParallelism(32)
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var c Conn
		i := next.Add(1) * 7919
		for pb.Next() {
			i++
			s.Handle(&c, topics[i%uint64(len(topics))], payload)
		}
	})
	// Every update counts once it is durable and answered.
	for s.active.Load() > 0 {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
}

func BenchmarkDurableUpdateSync(b *testing.B)  { benchmarkDurable(b, DurabilitySync) }
func BenchmarkDurableUpdateAsync(b *testing.B) { benchmarkDurable(b, DurabilityAsync) }
func BenchmarkDurableUpdateOff(b *testing.B)   { benchmarkDurable(b, DurabilityOff) }

// answerPublisher wakes the worker owning a shadow when its update is
// accepted.
type answerPublisher map[string]chan struct{}

func (a answerPublisher) Publish(topic string, _ []byte) {
	if c, ok := a[topic]; ok {
		c <- struct{}{}
	}
}

// benchmarkPaced sends rate updates per second for 3 s over 2000 shadows
// from 64 goroutines, each waiting for its update/accepted as a device with
// one request in flight would, and reports the CPU per update and the
// update→accepted percentiles. It is the emulator's regime below its
// knee, where a group commit gathers few changes.
func benchmarkPaced(b *testing.B, cfg Config, rate int) {
	const workers = 64
	const window = 3 * time.Second
	topics := make([]string, 2000)
	answers := answerPublisher{}
	owner := make([]chan struct{}, workers)
	for w := range owner {
		owner[w] = make(chan struct{}, 1)
	}
	for i := range topics {
		thing := fmt.Sprintf("sim-%05d", i)
		topics[i] = shadowTopic(thing, "", "update")
		answers[shadowTopic(thing, "", "update/accepted")] = owner[i%workers]
	}
	cfg.DataDir = b.TempDir()
	s, err := New(cfg, answers)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	payload := []byte(`{"state":{"reported":{"temperature":21.5,"humidity":40.25,"battery":87,"seq":12345}},"clientToken":"bench"}`)
	per := time.Duration(int64(time.Second) * workers / int64(rate))
	var mu sync.Mutex
	var lat []time.Duration
	var cpu time.Duration
	for range b.N {
		cpu0 := processCPU()
		start := time.Now()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				var c Conn
				var mine []time.Duration
				next := start.Add(per * time.Duration(w) / workers)
				// Worker w owns the shadows w, w+workers, w+2*workers, …
				for n := 0; time.Since(start) < window; n++ {
					time.Sleep(time.Until(next))
					t0 := time.Now()
					s.Handle(&c, topics[w+n%(len(topics)/workers)*workers], payload)
					<-owner[w]
					mine = append(mine, time.Since(t0))
					next = next.Add(per)
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		cpu += processCPU() - cpu0
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-µs/update")
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/window.Seconds()/float64(b.N), "updates/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func BenchmarkPacedUpdates(b *testing.B) {
	for _, rate := range []int{2000, 5000} {
		for _, tc := range []struct {
			name string
			cfg  Config
		}{
			{"off", Config{Durability: DurabilityOff}},
			{"async", Config{Durability: DurabilityAsync}},
			{"sync", Config{Durability: DurabilitySync}},
		} {
			b.Run(fmt.Sprintf("rate=%d/%s", rate, tc.name), func(b *testing.B) { benchmarkPaced(b, tc.cfg, rate) })
		}
	}
}
