package shadowsvc

import (
	"fmt"
	"sync/atomic"
	"testing"
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
