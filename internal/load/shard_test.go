package load

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shadowload/shadowload/metrics"
)

func TestShardSlotsAddUpToTheWholeSchedule(t *testing.T) {
	tests := []struct {
		things, shards int
		phases         []Phase
	}{
		{10, 3, []Phase{{Duration: 10 * time.Second, From: 10, To: 100}, {Duration: 5 * time.Second, From: 100, To: 100}}},
		{9, 3, []Phase{{Duration: 3 * time.Second, From: 333, To: 333}}},
		{2, 5, []Phase{{Duration: 2 * time.Second, From: 7, To: 0}}},
		{1000, 7, []Phase{{Duration: time.Second, From: 0, To: 5000}}},
		{5, 1, []Phase{{Duration: time.Second, From: 50, To: 50}}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d things in %d shards", tt.things, tt.shards), func(t *testing.T) {
			s, err := NewSchedule(tt.phases)
			if err != nil {
				t.Fatal(err)
			}
			seen := make([]int, s.Slots())
			for k := range tt.shards {
				var last int64 = -1
				s.ShardSlots(Shard{Index: k, Count: tt.shards}, tt.things, func(i int64, at time.Duration) bool {
					if i <= last {
						t.Fatalf("shard %d: slot %d after %d: not in schedule order", k, i, last)
					}
					if owner := int(i % int64(tt.things)); owner%tt.shards != k {
						t.Fatalf("shard %d got slot %d of thing %d", k, i, owner)
					}
					if at != s.At(i) {
						t.Fatalf("shard %d: slot %d at %v, the schedule says %v", k, i, at, s.At(i))
					}
					last = i
					seen[i]++
					return true
				})
			}
			for i, n := range seen {
				if n != 1 {
					t.Fatalf("slot %d is sent by %d shards, want exactly 1", i, n)
				}
			}
		})
	}
}

func TestShardValidation(t *testing.T) {
	for _, s := range []Shard{{-1, 3}, {3, 3}, {0, -2}} {
		if err := s.Validate(); err == nil {
			t.Errorf("shard %+v is valid", s)
		}
	}
	cfg := Config{Transport: newFakeTransport(), Things: testBundles(4), Shard: Shard{Index: 1, Count: 3}, FleetSize: 10,
		Phases: []PhaseSpec{{Phase: Phase{Duration: time.Second, From: 1, To: 1}}}}
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "has 3 things; 4 given") {
		t.Errorf("a shard given too many things: %v", err)
	}
}

// sends lists every request a run published, as "thing topic stamp",
// sorted: the stamp is the slot's intended time on the wall clock.
func sends(tr *fakeTransport) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []string
	for id, conns := range tr.conns {
		for _, c := range conns {
			c.mu.Lock()
			for _, m := range c.sent {
				out = append(out, fmt.Sprintf("%s %s %d", id, m.topic, maxStamp(m.payload)))
			}
			c.mu.Unlock()
		}
	}
	slices.Sort(out)
	return out
}

// TestShardedRunsSendWhatTheWholeRunSends runs a fleet whole and in three
// shards aligned by StartAt, each in its own virtual-time bubble, and
// checks the shards sent exactly the whole run's requests at the same
// intended times, and that their merged report counts what the whole run
// counted.
func TestShardedRunsSendWhatTheWholeRunSends(t *testing.T) {
	const things, shards = 10, 3
	run := func(shard Shard) (*metrics.Report, []string) {
		var rep *metrics.Report
		var sent []string
		synctest.Test(t, func(t *testing.T) {
			tr := newFakeTransport()
			tr.delay = 20 * time.Millisecond
			cfg := fakeRun(tr, things, 60, 6*time.Second)
			cfg.Shard, cfg.FleetSize = shard, things
			if !shard.Whole() {
				cfg.Things = nil
				for _, i := range shard.Things(things) {
					cfg.Things = append(cfg.Things, testBundles(things)[i])
				}
			}
			// Bubbles start at the same instant: one start for all.
			cfg.StartAt = time.Now().Add(1500 * time.Millisecond)
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			rep, sent = res.Report, sends(tr)
		})
		return rep, sent
	}
	whole, wholeSent := run(Shard{})
	var reps []*metrics.Report
	var shardSent []string
	for k := range shards {
		rep, sent := run(Shard{Index: k, Count: shards})
		if rep.Shard == nil || rep.Shard.Index != k || rep.Shard.Count != shards {
			t.Fatalf("shard %d's report says it is shard %v", k, rep.Shard)
		}
		checkBooks(t, rep)
		reps = append(reps, rep)
		shardSent = append(shardSent, sent...)
	}
	slices.Sort(shardSent)
	if len(wholeSent) == 0 || !slices.Equal(wholeSent, shardSent) {
		t.Fatalf("the shards sent %d requests, the whole run %d; they differ (first shard %q, whole %q)", len(shardSent), len(wholeSent), first(shardSent), first(wholeSent))
	}
	merged, err := metrics.Merge(reps...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"schedule.slots", "update.scheduled", "update.sent", "get.sent", "delete.sent", "things", "things.connected"} {
		if merged.Counters[name] != whole.Counters[name] {
			t.Errorf("%s: shards %d, whole run %d", name, merged.Counters[name], whole.Counters[name])
		}
	}
	// The whole run's intervals on the same grid: a slot due exactly on a
	// second may be counted on either side of it, in any run.
	lined, err := metrics.Merge(whole)
	if err != nil {
		t.Fatal(err)
	}
	if len(merged.Intervals) != len(lined.Intervals) {
		t.Fatalf("%d merged intervals, the whole run has %d", len(merged.Intervals), len(lined.Intervals))
	}
	for i, m := range merged.Intervals {
		w := lined.Intervals[i]
		if d := m.At.Sub(w.At); d < -alignSlack || d > alignSlack || abs(m.Counters["schedule.slots"]-w.Counters["schedule.slots"]) > 2 || m.Gauges[GaugeThingsUp] != w.Gauges[GaugeThingsUp] {
			t.Errorf("interval %d: %v slots %d up %v; whole run %v slots %d up %v", i, m.At, m.Counters["schedule.slots"], m.Gauges[GaugeThingsUp],
				w.At, w.Counters["schedule.slots"], w.Gauges[GaugeThingsUp])
		}
	}
	for i, w := range whole.Intervals[:len(whole.Intervals)-1] {
		if w.At.Sub(whole.Start.Add(1500*time.Millisecond))%time.Second != 0 {
			t.Errorf("interval %d ends at %v: not a whole second from the start", i, w.At)
		}
	}
}

// alignSlack is how far apart the ends of one line's last intervals may be:
// each run ends when its last reply is in.
const alignSlack = 100 * time.Millisecond

func abs(v int64) int64 { return max(v, -v) }

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func TestStartInThePastIsRefused(t *testing.T) {
	cfg := fakeRun(newFakeTransport(), 2, 10, time.Second)
	cfg.StartAt = time.Now().Add(-time.Minute)
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "in the past") {
		t.Errorf("err = %v, want a start in the past refused", err)
	}
}
