package metrics

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// intervalRun records three one-second intervals of two latency metrics and
// a counter, the second metric only in the middle one.
func intervalRun(t testing.TB) *Report {
	t.Helper()
	s := NewSet()
	acc := s.Latency("update.accepted")
	fan := s.Latency(Scoped("fanout.app", "steady"))
	sent := s.Counter("update.sent")
	c := s.collectorAt(testStart)
	r := s.NewRecorder()
	for sec := range 3 {
		for v := range 200 {
			r.Record(acc, int64(v+1)*int64(time.Millisecond)/int64(sec+1))
			r.Add(sent, 1)
			if sec == 1 {
				r.Record(fan, int64(v+7)*int64(time.Microsecond)*3)
			}
		}
		c.SetGauge("things.up", float64(sec+1))
		c.Interval(testStart.Add(time.Duration(sec+1) * time.Second))
	}
	return c.FinalAt(testStart.Add(3 * time.Second))
}

func TestHlogReadsBackToTheSameHistograms(t *testing.T) {
	rep := intervalRun(t)
	var b bytes.Buffer
	if err := WriteHlog(&b, rep); err != nil {
		t.Fatal(err)
	}
	type line struct {
		tag        string
		start, end int64
		h          *hdrhistogram.Histogram
	}
	var want []line
	for _, iv := range rep.Intervals {
		for _, name := range []string{Scoped("fanout.app", "steady"), "update.accepted"} {
			if _, ok := iv.Latencies[name]; !ok {
				continue
			}
			h, err := iv.Histogram(name)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, line{name, iv.At.Add(-iv.Elapsed).UnixMilli(), iv.At.UnixMilli(), h})
		}
	}
	if !strings.Contains(b.String(), "#[StartTime: "+strconv.FormatInt(testStart.Unix(), 10)) {
		t.Errorf("no StartTime line:\n%s", b.String())
	}
	rd := hdrhistogram.NewHistogramLogReader(&b)
	for i := 0; ; i++ {
		h, err := rd.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			if i != len(want) {
				t.Fatalf("read %d interval histograms, want %d", i, len(want))
			}
			break
		}
		if i >= len(want) {
			t.Fatalf("more than the %d interval histograms written", len(want))
		}
		w := want[i]
		if h.Tag() != w.tag || !h.Equals(w.h) {
			t.Errorf("histogram %d: tag %q (want %q), equal %v", i, h.Tag(), w.tag, h.Equals(w.h))
		}
		if h.StartTimeMs() != w.start || h.EndTimeMs() != w.end {
			t.Errorf("histogram %d: %d..%d ms, want %d..%d", i, h.StartTimeMs(), h.EndTimeMs(), w.start, w.end)
		}
	}
}

// TestHgrmParsesBackToTheHistogram reads the .hgrm table back: each row's
// value, percentile and total count are the histogram's own, as
// HdrHistogram's plotter reads them.
func TestHgrmParsesBackToTheHistogram(t *testing.T) {
	rep := intervalRun(t)
	var b bytes.Buffer
	if err := WriteHgrm(&b, rep, "update.accepted"); err != nil {
		t.Fatal(err)
	}
	h, err := rep.Histogram("update.accepted")
	if err != nil {
		t.Fatal(err)
	}
	want := h.CumulativeDistributionWithTicks(5)
	text := b.String()
	sc := bufio.NewScanner(strings.NewReader(text))
	rows := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		v, err1 := strconv.ParseFloat(f[0], 64)
		p, err2 := strconv.ParseFloat(f[1], 64)
		n, err3 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue // the header
		}
		if rows >= len(want) {
			t.Fatalf("more rows than the histogram's %d percentiles", len(want))
		}
		w := want[rows]
		if wv := float64(w.ValueAt) / 1e6; v < wv-0.0005 || v > wv+0.0005 || n != w.Count || p < w.Quantile/100-1e-6 || p > w.Quantile/100+1e-6 {
			t.Errorf("row %d: %v ms at %v (%d); want %v ms at %v (%d)", rows, v, p, n, wv, w.Quantile/100, w.Count)
		}
		rows++
	}
	if rows != len(want) {
		t.Errorf("%d rows, want %d", rows, len(want))
	}
	if !strings.Contains(text, fmt.Sprintf("#[Max     = %12.3f, Total count    = %12d]", float64(h.Max())/1e6, h.TotalCount())) {
		t.Errorf("footer lacks the max %v ms:\n%s", float64(h.Max())/1e6, text)
	}
}

func TestJUnitHasACasePerThresholdAndOneForValidity(t *testing.T) {
	pass := ThresholdResult{Metric: "update.accepted", Expr: "p(99)<1s", Pass: true, Actual: "p(99)=200ms"}
	fail := ThresholdResult{Metric: "update.sent", Expr: "count>1000", Actual: "count=600"}
	tests := []struct {
		name                     string
		rep                      Report
		tests, failures, skipped int
		failed                   []string
	}{
		{"a valid run that passed", Report{Thresholds: []ThresholdResult{pass}}, 2, 0, 0, nil},
		{"a failed threshold", Report{Thresholds: []ThresholdResult{pass, fail}}, 3, 1, 0, []string{"update.sent: count>1000"}},
		{"an invalid run is never green", Report{Thresholds: []ThresholdResult{pass}, Invalid: []string{"slots skipped: 9 of 10"}}, 2, 1, 1,
			[]string{"validity: the run can be trusted"}},
		{"an abort fails", Report{Thresholds: []ThresholdResult{pass}, Aborted: "update.accepted p(99)<1s failed at 5s"}, 3, 1, 0, []string{"aborted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := tt.rep
			rep.Start, rep.Duration, rep.Config = testStart, 10*time.Second, []byte(`{"name":"gate"}`)
			var b bytes.Buffer
			if err := WriteJUnit(&b, &rep); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Tests    int `xml:"tests,attr"`
				Failures int `xml:"failures,attr"`
				Suites   []struct {
					Name  string `xml:"name,attr"`
					Cases []struct {
						Name    string    `xml:"name,attr"`
						Failure *struct{} `xml:"failure"`
						Skipped *struct{} `xml:"skipped"`
					} `xml:"testcase"`
				} `xml:"testsuite"`
			}
			if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatalf("%v\n%s", err, b.String())
			}
			if doc.Tests != tt.tests || doc.Failures != tt.failures || len(doc.Suites) != 1 || doc.Suites[0].Name != "shadowload gate" {
				t.Fatalf("tests %d failures %d suites %d; want %d and %d in one suite\n%s", doc.Tests, doc.Failures, len(doc.Suites), tt.tests, tt.failures, b.String())
			}
			var failed []string
			skipped := 0
			for _, c := range doc.Suites[0].Cases {
				if c.Failure != nil {
					failed = append(failed, c.Name)
				}
				if c.Skipped != nil {
					skipped++
				}
			}
			if strings.Join(failed, "|") != strings.Join(tt.failed, "|") || skipped != tt.skipped {
				t.Errorf("failed %q skipped %d, want %q and %d", failed, skipped, tt.failed, tt.skipped)
			}
		})
	}
}

func TestCSVRowsAddUpToTheRun(t *testing.T) {
	rep := intervalRun(t)
	var b bytes.Buffer
	if err := WriteCSV(&b, rep); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
		t.Errorf("header %q", rows[0])
	}
	sums := map[string]int64{}
	gauges := 0
	for _, r := range rows[1:] {
		switch r[3] {
		case "counter", "latency":
			n, err := strconv.ParseInt(r[4], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			sums[r[2]] += n
		case "gauge":
			gauges++
		}
	}
	if sums["update.sent"] != rep.Counters["update.sent"] || sums["update.accepted"] != rep.Latencies["update.accepted"].Count {
		t.Errorf("rows add up to %v; the run counted %d sent and %d accepted", sums, rep.Counters["update.sent"], rep.Latencies["update.accepted"].Count)
	}
	if gauges != 3 {
		t.Errorf("%d gauge rows, want 3", gauges)
	}
}

// slowed returns a copy of rep whose latencies are all shifted by d and
// whose counts are scaled by k, through real histograms.
func slowed(t *testing.T, rep *Report, d time.Duration, k int64) *Report {
	t.Helper()
	out := *rep
	out.Latencies = map[string]LatencyReport{}
	for name := range rep.Latencies {
		h, err := rep.Histogram(name)
		if err != nil {
			t.Fatal(err)
		}
		n := newHistogram()
		for _, bar := range h.Distribution() {
			if bar.Count > 0 {
				_ = n.RecordValues(bar.To+int64(d), bar.Count*k/10)
			}
		}
		lr, err := latencyReport(n, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		out.Latencies[name] = lr
	}
	return &out
}

func TestCompareFlagsRegressionsBeyondTheBound(t *testing.T) {
	base := slowed(t, knownRun(t), 0, 20) // two values each of 1ms…100ms
	tests := []struct {
		name      string
		next      *Report
		opts      CompareOptions
		regressed bool
		marks     []string
	}{
		{"the same run passes", base, CompareOptions{}, false, nil},
		{"50ms slower fails a 50% bound", slowed(t, base, 50*time.Millisecond, 10), CompareOptions{MaxRegression: 0.5}, true, []string{"p50"}},
		{"a shift under the latency floor passes", slowed(t, base, 500*time.Microsecond, 10), CompareOptions{MaxRegression: 0.001}, false, nil},
		{"half the rate fails", slowed(t, base, 0, 5), CompareOptions{MaxRegression: 0.1}, true, []string{"rate"}},
		{"a stat that does not gate is shown only", slowed(t, base, 0, 5), CompareOptions{Stats: []string{"p99"}}, false, nil},
		{"a metric NEW lacks fails", &Report{Duration: base.Duration, Latencies: map[string]LatencyReport{}}, CompareOptions{}, true, []string{"MISSING"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Compare(base, tt.next, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := c.Write(&b); err != nil {
				t.Fatal(err)
			}
			if c.Regressed != tt.regressed {
				t.Errorf("regressed %v, want %v\n%s", c.Regressed, tt.regressed, b.String())
			}
			for _, m := range tt.marks {
				found := false
				for _, r := range c.Rows {
					found = found || r.Regressed && (r.Stat == m || m == "MISSING" && r.Missing)
				}
				if !found {
					t.Errorf("no regressed %s row\n%s", m, b.String())
				}
			}
			if got := strings.Contains(b.String(), "REGRESSION"); got != tt.regressed {
				t.Errorf("table says regression %v\n%s", got, b.String())
			}
		})
	}
	if _, err := Compare(base, base, CompareOptions{Stats: []string{"p42"}}); err == nil || !strings.Contains(err.Error(), `statistic "p42"`) {
		t.Errorf("unknown statistic: %v", err)
	}
	if _, err := Compare(base, base, CompareOptions{Metrics: []string{"nothing.*"}}); err == nil {
		t.Error("comparing no metric succeeded")
	}
}

func TestNewWritersReportWriteFailures(t *testing.T) {
	rep := intervalRun(t)
	for name, write := range map[string]func(io.Writer, *Report) error{"hlog": WriteHlog, "junit": WriteJUnit, "csv": WriteCSV} {
		if err := write(brokenWriter{}, rep); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: error %v, want the writer's", name, err)
		}
	}
}
