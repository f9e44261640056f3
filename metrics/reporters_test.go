package metrics

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestWriteSummaryShowsPercentilesAndThresholds(t *testing.T) {
	rep := knownRun(t)
	rep.Invalid = []string{"generator fell behind its schedule"}
	rep.Generator = &Generator{CPUSeconds: 3.5, Cores: 2, Utilization: 0.175, SchedulerLag: Summary{P99: 2e6, Max: 4.5e6}}
	rep.Latencies["connect"] = LatencyReport{Summary: Summary{Count: 2, P50: 800e3, P90: 1.2e6, P99: 1.5e9, P999: 1.5e9, Max: 60e9}, AboveRange: 1}
	pass, _ := ParseThreshold("update.accepted", "p(99)<250ms")
	fail, _ := ParseThreshold("update.rejected", "rate<0.05%")
	Evaluate(rep, []Threshold{pass, fail})

	var buf bytes.Buffer
	if err := WriteSummary(&buf, rep); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"run 2026-01-02T03:04:05Z, 10s\n",
		"INVALID generator fell behind its schedule\n",
		"metric           count  rate/s  p50    p90    p99   p99.9  max\n",
		"connect          2      0.2     800µs  1.2ms  1.5s  1.5s   60s\n",
		"(1 more metrics recorded nothing)\n",
		"update.accepted  100    10.0    50ms   90ms   99ms  100ms  100ms\n",
		"update.rejected  20     2.0\n",
		"update.sent      20000  2000.0\n",
		"clamped connect: 0 below 1µs, 1 above 1m0s\n",
		"generator: cpu 3.5s on 2 cores (18%), scheduler lag p99 2ms max 4.5ms\n",
		"thresholds (not judged: the run is invalid)\n",
		"-  update.accepted  p(99)<250ms  p(99)=99ms\n",
		"-  update.rejected  rate<0.05%   rate=0.1%\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "get.accepted") {
		t.Errorf("summary lists get.accepted, which recorded nothing and has no threshold:\n%s", out)
	}
	if strings.Contains(out, "PASS") {
		t.Errorf("summary passes a threshold of an invalid run:\n%s", out)
	}

	rep.Invalid = nil
	buf.Reset()
	if err := WriteSummary(&buf, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nthresholds\n",
		"PASS  update.accepted  p(99)<250ms  p(99)=99ms\n",
		"FAIL  update.rejected  rate<0.05%   rate=0.1%\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary of a valid run lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestWriteSummaryShowsPhasesAndFirstErrors(t *testing.T) {
	s := NewSet()
	acc := s.Latency("update.accepted")
	accWarm := s.Latency(Scoped("update.accepted", "warm"))
	sentHot := s.Counter(Scoped("update.sent", "hot"), Planned(Scoped("update.scheduled", "hot")))
	schedHot := s.Counter(Scoped("update.scheduled", "hot"))
	c := s.collectorAt(testStart)
	r := s.NewRecorder()
	r.Record(acc, int64(time.Millisecond))
	r.Record(accWarm, int64(time.Millisecond))
	r.Add(sentHot, 99)
	r.Add(schedHot, 100)
	rep := c.FinalAt(testStart.Add(3 * time.Second))
	rep.Phases = []PhaseReport{{Name: "warm", Duration: time.Second, From: 1, To: 10}, {Name: "hot", Start: time.Second, Duration: 2 * time.Second, From: 50, To: 50}}
	rep.Errors = map[string]string{"connect.failed.tls": "server certificate signed by an unknown CA"}
	th, _ := ParseThreshold(Scoped("update.sent", "hot"), "achieved>=99%")
	Evaluate(rep, []Threshold{th})
	var buf bytes.Buffer
	if err := WriteSummary(&buf, rep); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"\nphase warm: 1s from 0s, 1/s→10/s\n",
		"\nphase hot: 2s from 1s, 50/s\n",
		"update.sent       99     49.5\n",
		"first connect.failed.tls: server certificate signed by an unknown CA\n",
		"PASS  update.sent{phase:hot}  achieved>=99%  achieved=99% (99 of 100)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "{phase:warm}") {
		t.Errorf("the whole-run table lists a scoped metric:\n%s", out)
	}
}

func TestWriteSummaryKeepsEmptyMetricsWithThresholds(t *testing.T) {
	rep := knownRun(t)
	th, _ := ParseThreshold("get.accepted", "p(99)<1s")
	Evaluate(rep, []Threshold{th})
	var buf bytes.Buffer
	if err := WriteSummary(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "get.accepted") {
		t.Errorf("summary hides get.accepted, which a threshold names:\n%s", buf.String())
	}
}

func TestWriteHgrmPrintsPercentileTableInMilliseconds(t *testing.T) {
	rep := knownRun(t)
	var buf bytes.Buffer
	if err := WriteHgrm(&buf, rep, "update.accepted"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, " Value\tPercentile\tTotalCount\t1/(1-Percentile)\n") {
		t.Errorf("hgrm header missing:\n%s", out)
	}
	if !strings.Contains(out, "Total count    =          100]") || !strings.Contains(out, "#[Mean    =       50.") {
		t.Errorf("hgrm footer wrong:\n%s", out)
	}
	lines := strings.Split(out, "\n")
	if last := lines[len(lines)-5]; !strings.HasPrefix(strings.TrimSpace(last), "100.") {
		t.Errorf("last percentile line %q, want about 100 (ms)", last)
	}
	if err := WriteHgrm(&buf, rep, "nope"); err == nil || !strings.Contains(err.Error(), `write hgrm: latency "nope": not in the report`) {
		t.Errorf("missing metric error = %v", err)
	}
}

func TestFormatProgressLine(t *testing.T) {
	iv := Interval{
		Elapsed:   time.Second,
		Counters:  map[string]int64{"update.sent": 987, "update.rejected": 2, "update.timeout": 1, "get.sent": 40},
		Latencies: map[string]Summary{"update.accepted": {Count: 980, P50: 12.3e6, P99: 45.6e6}},
	}
	tests := []struct {
		name string
		iv   Interval
		p    Progress
		want string
	}{
		{"defaults", iv, Progress{Phase: "steady", Elapsed: 65 * time.Second, Connected: 950, Things: 1000, TargetRate: 1000},
			"steady 01:05 connected 950/1000 rate 1000/s → 987/s p50 12.3ms p99 45.6ms errors 3"},
		{"chosen metrics", iv, Progress{Elapsed: 2*time.Hour + 3*time.Second, TargetRate: 50, Sent: "get.sent", Latency: "get.accepted", Errors: []string{"update.timeout"}},
			"2:00:03 connected 0/0 rate 50/s → 40/s p50 - p99 - errors 1"},
		{"empty interval", Interval{}, Progress{Phase: "ramp", TargetRate: 12.5},
			"ramp 00:00 connected 0/0 rate 12.5/s → -/s p50 - p99 - errors 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatProgress(tt.iv, tt.p); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
