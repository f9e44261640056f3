package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shadowload/shadowload/internal/browsertest"
	"github.com/shadowload/shadowload/internal/runner"
	"github.com/shadowload/shadowload/metrics"
	"github.com/shadowload/shadowload/scenario"
)

// shortRun is a run of a few seconds on the embedded emulator, with an
// observer group of two filters, thresholds that pass and one that fails.
const shortRun = `name: dashboard-test
fleet:
  things: 5
  connect_rate: 100/s
observers:
  - name: app
    count: 1
    filters: ["$aws/things/+/shadow/update/accepted", "$aws/things/+/shadow/update/documents"]
phases:
  - name: ramp
    duration: 1s
    ramp: {from: 10/s, to: 40/s}
  - name: steady
    duration: 3s
    rate: 40/s
    mix: {update: 9, get: 1}
validity:
  late: 100%
thresholds:
  update.accepted: ["p(99)<5s"]
  update.rejected: ["count<1000000"]
  get.accepted: ["max<1ns"]
`

// TestDashboardShowsARunLiveAndItsVerdictAtTheEnd watches a short run in
// headless Chromium: the charts are redrawn while it runs, the thresholds
// show live, and at the end the verdict, the judged thresholds and the
// report to download.
func TestDashboardShowsARunLiveAndItsVerdictAtTheEnd(t *testing.T) {
	br := browsertest.New(t, 1280, 1400, 90*time.Second)
	s, err := scenario.Parse("dashboard-test.yaml", []byte(shortRun))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Start(Options{Listen: "127.0.0.1:0", Title: s.Name, Planned: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	br.Do(t, "open the dashboard", chromedp.Navigate(d.URL()), chromedp.WaitVisible(chromedp.CSS("#phase")))
	br.WaitFor(t, "the event stream", `document.body.dataset.stream === "open"`, 10*time.Second)

	type outcome struct{ err error }
	done := make(chan outcome, 1)
	go func() {
		r, err := runner.Run(context.Background(), s, runner.Options{OnInterval: d.Interval, OnProgress: d.Progress})
		if r != nil {
			d.Finish(r)
		}
		done <- outcome{err}
	}()
	// While it runs: the latency chart is drawn, then redrawn with more
	// data, and the thresholds show.
	br.WaitFor(t, "the latency chart", `document.querySelector("#chart-latency-update\\.accepted img") !== null`, 10*time.Second)
	first, err := chromedp.Run(br.Ctx, chromedp.Evaluate[string](`document.querySelector("#chart-latency-update\\.accepted img").src`))
	if err != nil {
		t.Fatal(err)
	}
	br.WaitFor(t, "the latency chart redrawn while the run goes on",
		`document.body.dataset.done !== "true" && document.querySelector("#chart-latency-update\\.accepted img").src !== `+jsString(first), 10*time.Second)
	br.WaitFor(t, "the fan-out per observer filter", `document.querySelector("#chart-fanout-app img") !== null && document.querySelector("#chart-latency-fanout\\.app img") !== null`, 10*time.Second)
	br.WaitFor(t, "the live thresholds", `document.querySelectorAll("#thresholds tbody tr").length === 3`, 10*time.Second)
	br.WaitFor(t, "the connected things", `document.querySelector("#connected").textContent === "5"`, 10*time.Second)
	live, err := chromedp.Run(br.Ctx, chromedp.Evaluate[bool](`document.body.dataset.done !== "true"`))
	if err != nil || !live {
		t.Fatalf("the run ended before the page saw it live (%v)", err)
	}
	shots := os.Getenv("SHADOWLOAD_SCREENSHOTS")
	if shots != "" {
		br.Screenshot(t, filepath.Join(shots, "dashboard-live.png"))
	}

	out := <-done
	if !errors.Is(out.err, runner.ErrThresholds) {
		t.Fatalf("run: %v, want the failing threshold to fail it", out.err)
	}
	br.WaitFor(t, "the verdict", `document.body.dataset.done === "true"`, 10*time.Second)
	verdict, err := chromedp.Run(br.Ctx, chromedp.TextContent(chromedp.CSS("#verdict")))
	if err != nil || verdict != "fail" {
		t.Fatalf("verdict %q (%v), want fail", verdict, err)
	}
	states, err := chromedp.Run(br.Ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#thresholds tbody tr")).map(r => r.cells[0].textContent + " " + r.cells[2].textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"update.accepted pass", "update.rejected pass", "get.accepted fail"}
	if strings.Join(states, ",") != strings.Join(want, ",") {
		t.Errorf("thresholds at the end %q, want %q", states, want)
	}
	charts, err := chromedp.Run(br.Ctx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("#charts img")).filter(i => i.naturalWidth > 100).length`))
	if err != nil || charts < 5 {
		t.Errorf("%d charts drawn at the end (%v), want at least 5", charts, err)
	}
	if shots != "" {
		br.Screenshot(t, filepath.Join(shots, "dashboard.png"))
	}
	for _, path := range []string{"/report.html", "/report.json"} {
		resp, err := http.Get(d.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "dashboard-test") {
			t.Errorf("%s: %d, %d bytes", path, resp.StatusCode, len(b))
		}
	}
	if p := br.Problems(); len(p) > 0 {
		t.Errorf("the page logged errors: %q", p)
	}
}

// jsString quotes s for a JavaScript expression.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// BenchmarkFrame measures one redraw of the page (every chart of the
// HTML report, encoded for the state event) on the HTML report's sample
// run: the dashboard's CPU cost per second of a watched run.
func BenchmarkFrame(b *testing.B) {
	f, err := os.Open("../../metrics/htmlreport/testdata/sample.json")
	if err != nil {
		b.Fatal(err)
	}
	rep, err := metrics.ReadReport(f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	// A ten-minute run: the sample's intervals repeated, one a second.
	long := *rep
	long.Intervals = nil
	for i := range 600 {
		iv := rep.Intervals[i%len(rep.Intervals)]
		iv.At = rep.Start.Add(time.Duration(i+1) * time.Second)
		long.Intervals = append(long.Intervals, iv)
	}
	for _, r := range []*metrics.Report{rep, &long} {
		b.Run(fmt.Sprintf("%d-intervals", len(r.Intervals)), func(b *testing.B) {
			d := &Dashboard{log: slog.New(slog.DiscardHandler), viewers: map[chan []byte]struct{}{}}
			for b.Loop() {
				st := state{Counters: counters(r), Charts: d.charts(r)}
				if len(st.Charts) == 0 {
					b.Fatal("no charts")
				}
				d.publish(st)
			}
		})
	}
}
