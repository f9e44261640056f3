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
	b := shardRun(t, 1, 2, testStart)
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
	if !m.Start.Equal(testStart) || m.Duration != 3*time.Second || m.Merged != 2 {
		t.Errorf("start %v duration %v merged %d, want %v, 3s and 2", m.Start, m.Duration, m.Merged, testStart)
	}
	if m.Bases["update.rejected"] != "update.sent" {
		t.Errorf("bases = %v", m.Bases)
	}
	if len(m.Invalid) != 1 || m.Invalid[0] != "report 1: generator behind" {
		t.Errorf("invalid = %q", m.Invalid)
	}
	if g := m.Generator; g == nil || g.CPUSeconds != 3 || g.Cores != 4 || g.Utilization != 0.4 || g.SchedulerLag.P99 != 3e6 {
		t.Errorf("generator = %+v", m.Generator)
	}
	// The whole run's intervals, lined up the same way, are what the
	// shards' merge must give, histograms and percentiles included.
	w, err := Merge(whole)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Intervals) != len(w.Intervals) || len(m.Intervals) != 3 {
		t.Fatalf("merged %d intervals, want %d (3)", len(m.Intervals), len(w.Intervals))
	}
	for i, iv := range m.Intervals {
		want := w.Intervals[i]
		if iv.Counters["update.sent"] != want.Counters["update.sent"] || !iv.At.Equal(want.At) {
			t.Errorf("interval %d: sent %d at %v, want %d at %v", i, iv.Counters["update.sent"], iv.At, want.Counters["update.sent"], want.At)
		}
		for name, ws := range want.Latencies {
			if got := iv.Latencies[name]; got != ws {
				t.Errorf("interval %d: %s: merged %+v, want %+v", i, name, got, ws)
			}
			gh, err := iv.Histogram(name)
			if err != nil {
				t.Fatal(err)
			}
			wh, _ := want.Histogram(name)
			if !gh.Equals(wh) {
				t.Errorf("interval %d: %s: merged histogram differs from the whole run's", i, name)
			}
		}
	}
}

func TestMergeLinesIntervalsUpByWallTime(t *testing.T) {
	// Shard 1 started a second later: its first interval ends with shard
	// 0's second one, a few milliseconds of timer jitter apart.
	a := shardRun(t, 0, 2, testStart)
	b := shardRun(t, 1, 2, testStart.Add(time.Second+3*time.Millisecond))
	a.Shard, b.Shard = &Shard{Index: 0, Count: 2}, &Shard{Index: 1, Count: 2}
	m, err := Merge(b, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Intervals) != 4 {
		t.Fatalf("merged %d intervals, want 4 (seconds 1 to 4)", len(m.Intervals))
	}
	wantSent := []int64{a.Intervals[0].Counters["update.sent"],
		a.Intervals[1].Counters["update.sent"] + b.Intervals[0].Counters["update.sent"],
		a.Intervals[2].Counters["update.sent"] + b.Intervals[1].Counters["update.sent"],
		b.Intervals[2].Counters["update.sent"]}
	var total int64
	for i, iv := range m.Intervals {
		if got := iv.Counters["update.sent"]; got != wantSent[i] {
			t.Errorf("interval %d: sent %d, want %d", i, got, wantSent[i])
		}
		h, err := iv.Histogram("update.accepted")
		if err != nil {
			t.Fatal(err)
		}
		if h.TotalCount() != iv.Latencies["update.accepted"].Count {
			t.Errorf("interval %d: histogram holds %d, summary says %d", i, h.TotalCount(), iv.Latencies["update.accepted"].Count)
		}
		total += h.TotalCount()
	}
	if want := m.Latencies["update.accepted"].Count; total != want {
		t.Errorf("intervals hold %d values, the run %d", total, want)
	}
	if m.Shard != nil || m.Merged != 2 {
		t.Errorf("merged report: shard %v merged %d, want none and 2", m.Shard, m.Merged)
	}
}

func TestMergeWantsEveryShardOnce(t *testing.T) {
	a, b := shardRun(t, 0, 2, testStart), shardRun(t, 1, 2, testStart)
	whole := shardRun(t, 0, 1, testStart)
	tests := []struct {
		name    string
		shards  []*Shard
		reports []*Report
		want    string
	}{
		{"a shard missing", []*Shard{{0, 3}, {1, 3}}, []*Report{a, b}, "shards 2/3 missing"},
		{"a shard twice", []*Shard{{1, 2}, {1, 2}}, []*Report{a, b}, "reports 0 and 1 are both shard 1/2"},
		{"other counts", []*Shard{{0, 2}, {1, 3}}, []*Report{a, b}, "report 1 is shard 1/3, an earlier report is of a run in 2 shards"},
		{"out of range", []*Shard{{2, 2}, {1, 2}}, []*Report{a, b}, "shard 2/2 out of range"},
		{"a whole run among shards", []*Shard{{0, 2}, {1, 2}, nil}, []*Report{a, b, whole}, "2 reports are shards of a run and 1 are not"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rs []*Report
			for i, r := range tt.reports {
				c := *r
				c.Shard = tt.shards[i]
				rs = append(rs, &c)
			}
			_, err := Merge(rs...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
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
