package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/shadowload/shadowload/metrics"
)

// shardScenario runs 12 things with an observer group for 4s, with a count
// threshold that each shard's third of the schedule fails and the fleet
// passes: 190 updates in all, about 63 per shard.
const shardScenario = lateIsNoise + `name: shards
fleet: {things: 12}
observers:
  - name: app
    count: 1
    filters: ["$aws/things/+/shadow/update/documents"]
phases:
  - {name: ramp, duration: 2s, ramp: {from: 10/s, to: 60/s}}
  - {name: steady, duration: 2s, rate: 60/s}
thresholds:
  update.sent: ["count>=150"]
  update.accepted: ["p(99)<10s"]
`

// TestThreeShardProcessesMergeExactly runs three shard processes against
// one emulator, aligned by --start-at, and checks the merged report against
// the shards': every counter is the sum of theirs, every histogram is the
// union of their values (so its percentiles are the union's), the fan-out
// books close only in the merge, and the thresholds are judged again on the
// merged result.
func TestThreeShardProcessesMergeExactly(t *testing.T) {
	addr, bundles := startCLIEmulator(t, 12)
	if code, _, stderr := runCLI(t, "provision", "--data", filepath.Dir(bundles), "--things", "1", "--observer", "--name", "app-{i}", "--quiet"); code != exitOK {
		t.Fatalf("provision the observer: exit %d: %s", code, stderr)
	}
	dir := t.TempDir()
	file := writeFile(t, dir, "shards.yaml", shardScenario)
	start := time.Now().Add(6 * time.Second).UTC().Format(time.RFC3339Nano)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const n = 3
	codes := make([]int, n)
	logs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(ctx, os.Args[0], "run", "--quiet", "--endpoint", addr, "--bundles", bundles,
				"--shard", fmt.Sprintf("%d/%d", i, n), "--start-at", start, "--out", filepath.Join(dir, fmt.Sprintf("shard-%d.json", i)), file)
			cmd.Env = append(os.Environ(), asCLI+"=1")
			out, err := cmd.CombinedOutput()
			logs[i] = string(out)
			var ee *exec.ExitError
			switch {
			case errors.As(err, &ee):
				codes[i] = ee.ExitCode()
			case err != nil:
				codes[i] = -1
				logs[i] += err.Error()
			}
		}()
	}
	wg.Wait()
	var shards []*metrics.Report
	for i := range n {
		// Each shard's third of the updates fails the fleet-wide count.
		if codes[i] != exitFailed {
			t.Fatalf("shard %d: exit %d, want %d (its slice fails the count threshold)\n%s", i, codes[i], exitFailed, logs[i])
		}
		shards = append(shards, readReport(t, filepath.Join(dir, fmt.Sprintf("shard-%d.json", i))))
	}

	total := filepath.Join(dir, "total.json")
	code, stdout, stderr := runCLI(t, "merge", "-o", total, "--junit", filepath.Join(dir, "junit.xml"),
		filepath.Join(dir, "shard-2.json"), filepath.Join(dir, "shard-0.json"), filepath.Join(dir, "shard-1.json"))
	if code != exitOK {
		t.Fatalf("merge: exit %d, want %d\nstdout:\n%s\nstderr: %s", code, exitOK, stdout, stderr)
	}
	m := readReport(t, total)
	if m.Verdict != "pass" || m.Merged != n || m.Shard != nil || !strings.Contains(stdout, "merged from 3 reports") {
		t.Errorf("merged verdict %q, merged %d, shard %v", m.Verdict, m.Merged, m.Shard)
	}

	for name, got := range m.Counters {
		var want int64
		for _, s := range shards {
			want += s.Counters[name]
		}
		if got != want {
			t.Errorf("counter %s: merged %d, shards add up to %d", name, got, want)
		}
	}
	if got := m.Counters["update.sent"]; got != 190 {
		t.Errorf("update.sent %d, want the whole schedule's 190", got)
	}
	for name, lr := range m.Latencies {
		union := hdrhistogram.New(int64(metrics.LowestLatency), int64(metrics.HighestLatency), metrics.SignificantDigits)
		for _, s := range shards {
			h, err := s.Histogram(name)
			if err != nil {
				t.Fatal(err)
			}
			union.Merge(h)
		}
		got, err := m.Histogram(name)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equals(union) || lr.Count != union.TotalCount() {
			t.Errorf("latency %s: merged histogram of %d values is not the union of the shards' %d", name, lr.Count, union.TotalCount())
		}
		if union.TotalCount() > 0 && (lr.P50 != float64(union.ValueAtQuantile(50)) || lr.P99 != float64(union.ValueAtQuantile(99)) || lr.P999 != float64(union.ValueAtQuantile(99.9))) {
			t.Errorf("latency %s: merged p50/p99/p99.9 %v/%v/%v, the union's %v/%v/%v", name, lr.P50, lr.P99, lr.P999,
				union.ValueAtQuantile(50), union.ValueAtQuantile(99), union.ValueAtQuantile(99.9))
		}
	}
	// Shard 0 hosts the observer, which hears every shard's things.
	if exp, got := m.Counters["fanout.app.expected"], m.Counters["fanout.app.received"]; exp == 0 || got != exp || shards[0].Counters["fanout.app.received"] != got {
		t.Errorf("fan-out: expected %d, received %d (shard 0 received %d)", exp, got, shards[0].Counters["fanout.app.received"])
	}
	var sent, held int64
	for _, iv := range m.Intervals {
		sent += iv.Counters["update.sent"]
		h, err := iv.Histogram("update.accepted")
		if err != nil {
			t.Fatal(err)
		}
		held += h.TotalCount()
	}
	if sent != m.Counters["update.sent"] || held != m.Latencies["update.accepted"].Count {
		t.Errorf("merged intervals hold %d sent and %d accepted; the run %d and %d", sent, held, m.Counters["update.sent"], m.Latencies["update.accepted"].Count)
	}
	if len(m.Thresholds) != 2 || !m.Thresholds[0].Pass || m.Thresholds[0].Actual != "count=190" {
		t.Errorf("merged thresholds %+v; want count>=150 judged again and passing at 190", m.Thresholds)
	}
	for i, s := range shards {
		if s.Thresholds[0].Pass {
			t.Errorf("shard %d passed count>=150 alone: %+v", i, s.Thresholds[0])
		}
	}
	junit, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if err != nil || !strings.Contains(string(junit), `failures="0"`) {
		t.Errorf("merge --junit: %v\n%s", err, junit)
	}

	// A shard missing is refused: part of a fleet is not the fleet.
	code, _, stderr = runCLI(t, "merge", filepath.Join(dir, "shard-0.json"), filepath.Join(dir, "shard-1.json"))
	if code != exitUsage || !strings.Contains(stderr, "shards 2/3 missing") {
		t.Errorf("merge of two of three shards: exit %d, stderr %q", code, stderr)
	}
}
