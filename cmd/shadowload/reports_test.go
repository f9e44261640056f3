package main

import (
	"bytes"
	"encoding/xml"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// compareScenario is a short embedded run; {latency} is the emulator's
// injected response delay.
const compareScenario = lateIsNoise + `name: compare
target: {emulator: {latency: "{latency}"}}
fleet: {things: 5}
phases:
  - {duration: 2s, rate: 50/s}
`

// TestCompareFlagsInjectedLatencyAndPassesARerun runs the same scenario
// three times on the embedded emulator, the third with 10ms injected into
// every shadow response, and compares each against the first with a 50%
// bound on p50: the identical re-run passes, the slowed one regresses.
func TestCompareFlagsInjectedLatencyAndPassesARerun(t *testing.T) {
	dir := t.TempDir()
	run := func(name, latency string) string {
		t.Helper()
		file := writeFile(t, dir, name+".yaml", strings.Replace(compareScenario, "{latency}", latency, 1))
		out := filepath.Join(dir, name+".json")
		if code, _, stderr := runCLI(t, "run", "--quiet", "--out", out, file); code != exitOK {
			t.Fatalf("run %s: exit %d: %s", name, code, stderr)
		}
		return out
	}
	base, again, slow := run("base", "none"), run("again", "none"), run("slow", "fixed:10ms")
	gate := []string{"--max-regression", "50%", "--stat", "p50", "--stat", "rate"}

	code, stdout, stderr := runCLI(t, append([]string{"compare", base, again}, gate...)...)
	if code != exitOK || !strings.Contains(stdout, "no regression beyond 50%") {
		t.Errorf("identical re-run: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, append([]string{"compare", base, slow}, gate...)...)
	if code != exitFailed || !strings.Contains(stdout, "REGRESSION") || !regressedRow(stdout, "update.accepted", "p50") {
		t.Errorf("10ms injected: exit %d, want %d with update.accepted p50 regressed\n%s%s", code, exitFailed, stdout, stderr)
	}
	// The other way round the slow run is the baseline: no regression.
	if code, stdout, _ := runCLI(t, append([]string{"compare", slow, base}, gate...)...); code != exitOK {
		t.Errorf("faster than the baseline: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := runCLI(t, "compare", base, filepath.Join(dir, "missing.json")); code != exitUsage || !strings.Contains(stderr, "missing.json") {
		t.Errorf("unreadable NEW: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "compare", "--max-regression", "lots", base, again); code != exitUsage || !strings.Contains(stderr, "--max-regression") {
		t.Errorf("bad bound: exit %d, stderr %q", code, stderr)
	}
}

// regressedRow reports whether the comparison table marks metric's stat
// as regressed.
func regressedRow(table, metric, stat string) bool {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == metric && f[1] == stat && strings.HasSuffix(line, "REGRESSED") {
			return true
		}
	}
	return false
}

// TestReportFormatsOfARun writes one run's report in every format and reads
// each back with a reader of its own kind.
func TestReportFormatsOfARun(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "s.yaml", strings.Replace(compareScenario, "{latency}", "none", 1)+"thresholds:\n  update.accepted: [\"p(99)<10s\"]\n")
	out := filepath.Join(dir, "r.json")
	hlog := filepath.Join(dir, "r.hlog")
	junit := filepath.Join(dir, "r.xml")
	html := filepath.Join(dir, "r.html")
	if code, _, stderr := runCLI(t, "run", "--quiet", "--out", out, "--hlog", hlog, "--junit", junit, "--html", html, file); code != exitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	rep := readReport(t, out)

	// --hlog: hdrhistogram-go's reader gives back every interval histogram.
	f, err := os.Open(hlog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := hdrhistogram.NewHistogramLogReader(f)
	sum := hdrhistogram.New(1000, 60e9, 3)
	for {
		h, err := rd.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		if h.Tag() == "update.accepted" {
			sum.Merge(h)
		}
	}
	total, err := rep.Histogram("update.accepted")
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Equals(total) || total.TotalCount() == 0 {
		t.Errorf("the .hlog's update.accepted intervals hold %d values, the report %d: not the same histogram", sum.TotalCount(), total.TotalCount())
	}

	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	data, err := os.ReadFile(junit)
	if err != nil || xml.Unmarshal(data, &suites) != nil || suites.Tests != 2 || suites.Failures != 0 {
		t.Errorf("--junit: %v: %d tests %d failures, want 2 and 0\n%s", err, suites.Tests, suites.Failures, data)
	}
	page, err := os.ReadFile(html)
	if err != nil || !bytes.Contains(page, []byte(`data-chart="spectrum-update"`)) {
		t.Errorf("--html: %v, no spectrum chart", err)
	}

	for _, tt := range []struct{ format, want string }{
		{"text", "update.accepted"},
		{"json", `"schema": "shadowload.report/v1"`},
		{"html", "<svg"},
		{"hgrm", "#[Mean    ="},
		{"hlog", "Tag=update.accepted,"},
		{"junit", "<testsuites"},
		{"csv", "time,elapsed_s,metric,kind"},
	} {
		code, stdout, stderr := runCLI(t, "report", "--format", tt.format, out)
		if code != exitOK || !strings.Contains(stdout, tt.want) {
			t.Errorf("report --format %s: exit %d, no %q: %s", tt.format, code, tt.want, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "report", "--format", "pdf", out); code != exitUsage || !strings.Contains(stderr, "want one of csv, hgrm, hlog, html, json, junit, text") {
		t.Errorf("unknown format: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "report", "--format", "hgrm", "--metric", "nope", out); code != exitUsage || !strings.Contains(stderr, `"nope"`) {
		t.Errorf("hgrm of an unknown metric: exit %d, stderr %q", code, stderr)
	}
	dst := filepath.Join(dir, "out.csv")
	if code, _, stderr := runCLI(t, "report", "--format", "csv", "-o", dst, out); code != exitOK {
		t.Errorf("report -o: exit %d: %s", code, stderr)
	} else if st, err := os.Stat(dst); err != nil || st.Size() == 0 {
		t.Errorf("report -o wrote nothing: %v", err)
	}
}

// TestEnvironmentSetsRunFlags checks that SHADOWLOAD_* variables set run's
// flags, that the command line beats them, and that a bad value names its
// variable.
func TestEnvironmentSetsRunFlags(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "s.yaml", strings.Replace(compareScenario, "{latency}", "none", 1))
	envOut := filepath.Join(dir, "env.json")
	flagOut := filepath.Join(dir, "flag.json")
	vars := map[string]string{"SHADOWLOAD_OUT": envOut, "SHADOWLOAD_QUIET": "true", "SHADOWLOAD_THINGS": "3", "SHADOWLOAD_SCENARIO": file}
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		e := &env{stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }}
		return dispatch(e, append([]string{"run"}, args...)), errb.String()
	}
	if code, stderr := run(); code != exitOK {
		t.Fatalf("run from the environment: exit %d: %s", code, stderr)
	}
	if got := readReport(t, envOut).Counters["things"]; got != 3 {
		t.Errorf("SHADOWLOAD_THINGS=3 ran %d things", got)
	}
	if code, stderr := run("--things", "2", "--out", flagOut); code != exitOK {
		t.Fatalf("run with flags: exit %d: %s", code, stderr)
	}
	if got := readReport(t, flagOut).Counters["things"]; got != 2 {
		t.Errorf("--things 2 beside SHADOWLOAD_THINGS=3 ran %d things", got)
	}
	vars["SHADOWLOAD_PROGRESS_EVERY"] = "often"
	if code, stderr := run(); code != exitUsage || !strings.Contains(stderr, `SHADOWLOAD_PROGRESS_EVERY="often"`) {
		t.Errorf("a bad variable: exit %d, stderr %q", code, stderr)
	}
	delete(vars, "SHADOWLOAD_PROGRESS_EVERY")
	vars["SHADOWLOAD_SHARDS"] = "3"
	if code, stderr := run(); code != exitUsage || !strings.Contains(stderr, "JOB_COMPLETION_INDEX") {
		t.Errorf("--shards without JOB_COMPLETION_INDEX: exit %d, stderr %q", code, stderr)
	}
	vars["JOB_COMPLETION_INDEX"] = "1"
	if code, stderr := run(); code != exitUsage || !strings.Contains(stderr, "a sharded run needs a target every shard reaches") {
		t.Errorf("a shard of the embedded emulator: exit %d, stderr %q", code, stderr)
	}
	code, stdout, _ := runCLI(t, "run", "--help")
	if code != exitOK || !strings.Contains(stdout, "SHADOWLOAD_METRICS_ADDR") || !strings.Contains(stdout, "beats the") {
		t.Errorf("run --help does not say how the environment sets flags:\n%s", stdout)
	}
}

func TestStartAtIsCheckedBeforeTheRun(t *testing.T) {
	file := writeFile(t, t.TempDir(), "s.yaml", strings.Replace(compareScenario, "{latency}", "none", 1))
	for _, tt := range []struct{ at, want string }{
		{"yesterday", "want an RFC 3339 time"},
		{time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "in the past"},
		{time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339), "at most 24h"},
	} {
		if code, _, stderr := runCLI(t, "run", "--quiet", "--start-at", tt.at, file); code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("--start-at %s: exit %d, stderr %q; want %d and %q", tt.at, code, stderr, exitUsage, tt.want)
		}
	}
	for _, spec := range []string{"3/3", "x/2", "1"} {
		if code, _, stderr := runCLI(t, "run", "--quiet", "--shard", spec, file); code != exitUsage || !strings.Contains(stderr, "--shard") {
			t.Errorf("--shard %s: exit %d, stderr %q", spec, code, stderr)
		}
	}
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestDeployManifestsUseRealRunVariables checks that every SHADOWLOAD_*
// variable the Kubernetes Job sets is one that sets a run flag.
func TestDeployManifestsUseRealRunVariables(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "kubernetes", "job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, help, _ := runCLI(t, "run", "--help")
	names := regexp.MustCompile(`SHADOWLOAD_[A-Z_]+`).FindAllString(string(data), -1)
	if len(names) == 0 {
		t.Fatal("job.yaml sets no SHADOWLOAD_ variable")
	}
	for _, name := range names {
		flag := "--" + strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, envPrefix)), "_", "-")
		if name != "SHADOWLOAD_SCENARIO" && !strings.Contains(help, flag+" ") {
			t.Errorf("job.yaml sets %s, but run has no %s flag", name, flag)
		}
	}
}
