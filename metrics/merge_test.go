package metrics

import (
	"strings"
	"testing"
	"time"
)

// shardRun records the values of shard i of n into its own set; with n = 1
// it records the whole fleet.
func shardRun(t *testing.T, i, n int, start time.Time) *Report {
	t.Helper()
	s := NewSet()
	acc := s.Latency("update.accepted")
	conn := s.Latency("connect")
	sent := s.Counter("update.sent")
	rej := s.Counter("update.rejected", Base("update.sent"))
	c := s.collectorAt(start)
	r := s.NewRecorder()
	for sec := range 3 {
		for v := range 3000 {
			if v%n != i {
				continue
			}
			r.Record(acc, int64(v*v)*1000+int64(sec)*int64(time.Millisecond))
			r.Add(sent, 1)
			if v%97 == 0 {
				r.Add(rej, 1)
			}
			if sec == 0 && v%50 == 0 {
				r.Record(conn, int64(v)*int64(time.Millisecond)+int64(time.Millisecond))
			}
		}
		c.Interval(start.Add(time.Duration(sec+1) * time.Second))
	}
	if i == 0 {
		r.Record(acc, -1)
	}
	return c.FinalAt(start.Add(3 * time.Second))
}

func TestMergeEqualsRecordingEverythingIntoOne(t *testing.T) {
	whole := shardRun(t, 0, 1, testStart)
	a := shardRun(t, 0, 2, testStart)
	b := shardRun(t, 1, 2, testStart.Add(500*time.Millisecond))
	b.Invalid = []string{"generator behind"}
	a.Generator = &Generator{CPUSeconds: 1, Cores: 2, Utilization: 0.2, SchedulerLag: Summary{P99: 1e6}}
	b.Generator = &Generator{CPUSeconds: 2, Cores: 2, Utilization: 0.4, SchedulerLag: Summary{P99: 3e6}}

	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range whole.Latencies {
		if got := m.Latencies[name]; got != want {
			t.Errorf("latency %s: merged %+v\nwant %+v", name, got.Summary, want.Summary)
		}
	}
	for name, want := range whole.Counters {
		if got := m.Counters[name]; got != want {
			t.Errorf("counter %s: merged %d, want %d", name, got, want)
		}
	}
	if !m.Start.Equal(testStart) || m.Duration != 3500*time.Millisecond {
		t.Errorf("start %v duration %v, want %v and 3.5s", m.Start, m.Duration, testStart)
	}
	if m.Bases["update.rejected"] != "update.sent" {
		t.Errorf("bases = %v", m.Bases)
	}
	if len(m.Invalid) != 1 || m.Invalid[0] != "shard 1: generator behind" {
		t.Errorf("invalid = %q", m.Invalid)
	}
	if g := m.Generator; g == nil || g.CPUSeconds != 3 || g.Cores != 4 || g.Utilization != 0.4 || g.SchedulerLag.P99 != 3e6 {
		t.Errorf("generator = %+v", m.Generator)
	}
	if len(m.Intervals) != len(whole.Intervals) {
		t.Fatalf("merged %d intervals, want %d", len(m.Intervals), len(whole.Intervals))
	}
	for i, iv := range m.Intervals {
		w := whole.Intervals[i]
		if iv.Counters["update.sent"] != w.Counters["update.sent"] {
			t.Errorf("interval %d: sent %d, want %d", i, iv.Counters["update.sent"], w.Counters["update.sent"])
		}
		got, want := iv.Latencies["update.accepted"], w.Latencies["update.accepted"]
		if got.Count != want.Count || got.Min != want.Min || got.Max != want.Max {
			t.Errorf("interval %d: count/min/max %d/%v/%v, want %d/%v/%v", i, got.Count, got.Min, got.Max, want.Count, want.Min, want.Max)
		}
		if got.P99 < want.P99 {
			t.Errorf("interval %d: merged p99 %v is below the true p99 %v; it must be an upper bound", i, got.P99, want.P99)
		}
	}
}

func TestMergeRejectsMismatchedReports(t *testing.T) {
	a := shardRun(t, 0, 2, testStart)
	b := shardRun(t, 1, 2, testStart)
	tests := []struct {
		name   string
		modify func(r *Report)
		want   string
	}{
		{"schema", func(r *Report) { r.Schema = "other/v9" }, `merge reports: report 1: schema "other/v9": want "shadowload.report/v1"`},
		{"bases", func(r *Report) { r.Bases = map[string]string{"update.rejected": "update.accepted"} },
			`merge reports: report 1: update.rejected has base "update.accepted", an earlier report says "update.sent"`},
		{"histogram", func(r *Report) {
			lr := r.Latencies["connect"]
			lr.Histogram = "garbage"
			r.Latencies["connect"] = lr
		}, `merge reports: report 1: latency "connect": decode histogram`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *b
			c.Latencies = make(map[string]LatencyReport)
			for k, v := range b.Latencies {
				c.Latencies[k] = v
			}
			tt.modify(&c)
			_, err := Merge(a, &c)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v, want prefix %q", err, tt.want)
			}
		})
	}
	if _, err := Merge(); err == nil {
		t.Error("Merge() of nothing succeeded")
	}
}
