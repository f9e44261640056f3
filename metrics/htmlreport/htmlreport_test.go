package htmlreport

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shadowload/shadowload/internal/browsertest"
	"github.com/shadowload/shadowload/metrics"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/charts from testdata/sample.json")

// sample reads the report of a real run (testdata/sample.yaml says how it
// was made).
func sample(t testing.TB) *metrics.Report {
	t.Helper()
	f, err := os.Open("testdata/sample.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := metrics.ReadReport(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantCharts are the charts the sample run must have.
var wantCharts = []string{"latency-update.accepted", "latency-get.accepted", "latency-fanout.app", "rates-update", "rates-get",
	"throughput", "spectrum-update", "spectrum-get", "fanout-app", "connected"}

func TestChartsOfARealRun(t *testing.T) {
	charts, err := Charts(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, c := range charts {
		got[c.ID] = true
		if !bytes.HasPrefix(c.SVG, []byte("<svg")) || !bytes.Contains(c.SVG, []byte("<path")) {
			t.Errorf("chart %s is not an SVG drawing: %.80q", c.ID, c.SVG)
		}
	}
	for _, id := range wantCharts {
		if !got[id] {
			t.Errorf("no chart %s (have %v)", id, got)
		}
	}
}

func TestPageIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sample(t)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"http://", "https://", "<script", "@import", "url("} {
		// The SVG namespace and the XLink one are names, not fetches.
		stripped := strings.NewReplacer(`xmlns="http://www.w3.org/2000/svg"`, "", `xmlns:xlink="http://www.w3.org/1999/xlink"`, "").Replace(page)
		if strings.Contains(stripped, bad) {
			i := strings.Index(stripped, bad)
			t.Errorf("page holds %q: %q", bad, stripped[max(i-40, 0):min(i+60, len(stripped))])
		}
	}
	for _, want := range []string{`id="verdict"`, "PASS: the run was valid", "update.accepted{phase:steady}", "p(50)&lt;100ms",
		"<h3>steady: 6s from 4s, 60/s</h3>", "fanout.app.f1"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestInvalidRunIsMarkedAndThresholdsNotJudged(t *testing.T) {
	r := sample(t)
	r.Invalid = []string{"slots skipped: 40 of 400 (10%, bound 1%)"}
	r.Verdict = "invalid"
	var b bytes.Buffer
	if err := Write(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`class="verdict invalid"`, "slots skipped: 40 of 400", `class="NOTJUDGED">not judged`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, `class="PASS"`) {
		t.Error("an invalid run's thresholds are marked PASS")
	}
}

// TestDocsChartsAreCurrent keeps docs/charts in step with the charts the
// code draws: run with -update-docs to rewrite them.
func TestDocsChartsAreCurrent(t *testing.T) {
	charts, err := Charts(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "docs", "charts")
	for _, c := range charts {
		path := filepath.Join(dir, c.ID+".svg")
		if *updateDocs {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, c.SVG, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, c.SVG) {
			t.Errorf("%s is not the chart the code draws (go test ./metrics/htmlreport -run TestDocsChartsAreCurrent -update-docs): %v", path, err)
		}
	}
}

// TestPageOpensInHeadlessChromium loads the page of a real run from a file
// URL in headless Chromium: every chart is drawn with a size, nothing is
// logged as an error, and a screenshot is taken (kept in
// $SHADOWLOAD_SCREENSHOTS when set).
func TestPageOpensInHeadlessChromium(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(f, sample(t)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	b := browsertest.New(t, 1280, 900, 60*time.Second)
	b.Strict(t)
	if err := chromedp.Do(b.Ctx, chromedp.Navigate("file://"+page), chromedp.WaitVisible(chromedp.CSS("#verdict"))); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("chromium did not load the page in time: %v", err)
		}
		t.Fatal(err)
	}
	title, err := chromedp.Run(b.Ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	charts, err := chromedp.Run(b.Ctx, chromedp.Evaluate[int](`document.querySelectorAll("figure.chart svg").length`))
	if err != nil {
		t.Fatal(err)
	}
	sized, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`Array.from(document.querySelectorAll("figure.chart svg")).every(s => { const r = s.getBoundingClientRect(); return r.width > 100 && r.height > 50 })`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(80))
	if err != nil {
		t.Fatal(err)
	}
	if title != "shadowload report: sample" {
		t.Errorf("title %q", title)
	}
	if charts < len(wantCharts) || !sized {
		t.Errorf("%d charts drawn (want %d), all with a size: %v", charts, len(wantCharts), sized)
	}
	if p := b.Problems(); len(p) > 0 {
		t.Errorf("the page logged errors: %q", p)
	}
	if len(shot) < 10000 {
		t.Errorf("screenshot of %d bytes", len(shot))
	}
	out := dir
	if d := os.Getenv("SHADOWLOAD_SCREENSHOTS"); d != "" {
		out = d
	}
	if err := os.WriteFile(filepath.Join(out, "report.jpg"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}
