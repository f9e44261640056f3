package shadowsvc

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fillShadows writes history updates to each of n shadows (async, from 32
// goroutines) and leaves the data directory as a crash would: no Close.
// With closed it closes the service, leaving a snapshot.
func fillShadows(b *testing.B, n, history int, closed bool) string {
	b.Helper()
	dir := b.TempDir()
	s, err := New(Config{DataDir: dir, Durability: DurabilityAsync}, &discard{})
	if err != nil {
		b.Fatal(err)
	}
	topics := make([]string, n)
	for i := range topics {
		topics[i] = shadowTopic(fmt.Sprintf("sim-%06d", i), "", "update")
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			var c Conn
			for {
				i := next.Add(1) - 1
				if i >= int64(n*history) {
					return
				}
				s.Handle(&c, topics[i%int64(n)], fmt.Appendf(nil, `{"state":{"reported":{"temperature":21.5,"humidity":40.25,"battery":%d,"seq":%d}}}`, i%100, i))
			}
		})
	}
	wg.Wait()
	if closed {
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		return dir
	}
	// Snapshot what a crash would leave, then let the service go.
	crashed := copyDataDir(b, dir)
	s.Close()
	return crashed
}

// BenchmarkRestart measures New on a data directory holding 100,000
// shadows: after a clean Close (one snapshot) and after a crash (snapshot
// plus the log since, or the log alone), with 1 and 10 updates of history
// per shadow. Run with -benchtime 3x: setting up takes a while.
func BenchmarkRestart(b *testing.B) {
	const shadows = 100_000
	for _, tc := range []struct {
		history int
		closed  bool
	}{{1, true}, {1, false}, {10, true}, {10, false}} {
		state := "crashed"
		if tc.closed {
			state = "closed"
		}
		b.Run(fmt.Sprintf("shadows=%d/history=%d/%s", shadows, tc.history, state), func(b *testing.B) {
			src := fillShadows(b, shadows, tc.history, tc.closed)
			var rec Recovery
			var took []time.Duration
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				dir := copyDataDir(b, src)
				b.StartTimer()
				t0 := time.Now()
				s, err := New(Config{DataDir: dir}, &discard{})
				if err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(t0))
				b.StopTimer()
				rec = s.Recovered()
				s.Close()
				os.RemoveAll(filepath.Dir(shadowDir(dir)))
				b.StartTimer()
			}
			if rec.Shadows != shadows {
				b.Fatalf("recovered %+v, want %d shadows", rec, shadows)
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[0].Milliseconds()), "min-ms")
			b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "median-ms")
			b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "max-ms")
			b.ReportMetric(float64(rec.Records), "log-records")
			b.ReportMetric(float64(rec.SnapshotRecords), "snapshot-records")
		})
	}
}
