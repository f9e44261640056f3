package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowload/shadowload/metrics"
)

// These tests reproduce, through the CLI, each way the verdict of a run
// could lie, and check the exit code and message it gets now.

// syncBuffer is a writer the run and the test share: the test waits for
// text matching a pattern to appear.
type syncBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	want *regexp.Regexp
	seen chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	if s.seen != nil && s.want.MatchString(s.b.String()) {
		close(s.seen)
		s.seen = nil
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor returns a channel closed once the buffer holds text matching
// pattern.
func (s *syncBuffer) waitFor(pattern string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	re := regexp.MustCompile(pattern)
	if re.MatchString(s.b.String()) {
		close(ch)
		return ch
	}
	s.want, s.seen = re, ch
	return ch
}

// readReport reads a report the run wrote.
func readReport(t *testing.T, path string) *metrics.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the report was not written: %v", err)
	}
	defer f.Close()
	rep, err := metrics.ReadReport(f)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// checkBooks asserts that every request sent ended exactly once.
func checkBooks(t *testing.T, rep *metrics.Report) {
	t.Helper()
	for _, op := range []string{"update", "get", "delete"} {
		n := rep.Counters[op+".sent"]
		ended := rep.Latencies[op+".accepted"].Count + rep.Latencies[op+".rejected"].Count + rep.Counters[op+".timeout"]
		if n != ended {
			t.Errorf("%s: %d sent, %d ended", op, n, ended)
		}
	}
}

func TestAbsurdNumbersExit2InValidatePlanAndRun(t *testing.T) {
	dir := t.TempDir()
	ok := writeFile(t, dir, "ok.yaml", "name: ok\nphases:\n  - {duration: 10s, rate: 10/s}\n")
	absurd := writeFile(t, dir, "absurd.yaml", "name: absurd\nphases:\n  - {duration: 10s, rate: 99999999999999999999999/s}\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"validate --rate", []string{"validate", "--rate", "99999999999999999999999/s", ok}, "above 1000000/s"},
		{"plan --rate", []string{"plan", "--rate", "99999999999999999999999/s", ok}, "above 1000000/s"},
		{"run --rate", []string{"run", "--quiet", "--rate", "99999999999999999999999/s", ok}, "above 1000000/s"},
		{"validate file", []string{"validate", absurd}, "phases[0].rate"},
		{"plan file", []string{"plan", absurd}, "phases[0].rate"},
		{"run file", []string{"run", "--quiet", absurd}, "phases[0].rate"},
		{"run --duration", []string{"run", "--quiet", "--duration", "2000000h", ok}, "at most 720h0m0s"},
		{"plan --things", []string{"plan", "--things", "99999999999", ok}, "want at most 1000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, exitUsage, stderr, tt.want)
			}
		})
	}
}

func TestMisspeltThresholdMetricFailsBeforeTheRun(t *testing.T) {
	f := writeFile(t, t.TempDir(), "typo.yaml", "name: typo\nphases:\n  - {duration: 1s, rate: 5/s}\nthresholds:\n  update.acepted: [\"p(99)<1s\"]\n")
	code, _, stderr := runCLI(t, "validate", f)
	if code != exitUsage || !strings.Contains(stderr, f+`:5:3: thresholds.update.acepted: unknown metric "update.acepted"; did you mean "update.accepted"?`) {
		t.Errorf("validate: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "run", f)
	if code != exitUsage || strings.Contains(stderr, "connecting") || stdout != "" {
		t.Errorf("run: exit %d, stdout %q, stderr %q; want exit 2 before any connection", code, stdout, stderr)
	}
}

func TestSetupProblemsExit2BeforeAnyConnection(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if code, _, stderr := runCLI(t, "provision", "--data", data, "--things", "2", "--quiet"); code != exitOK {
		t.Fatalf("provision: exit %d: %s", code, stderr)
	}
	bundles := filepath.Join(data, "bundles")
	f := writeFile(t, dir, "s.yaml", "name: s\nfleet: {things: 2}\nphases:\n  - {duration: 1s, rate: 2/s}\n")
	notADir := writeFile(t, dir, "plain-file", "x")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bundles missing", []string{"--endpoint", "127.0.0.1:1", "--bundles", "/nonexistent"}, "target.bundles"},
		{"too few bundles", []string{"--endpoint", "127.0.0.1:1", "--bundles", bundles, "--things", "5"}, `holds 2 bundles but none for ["sim-00002" "sim-00003" "sim-00004"]: 3 of the 5 connections`},
		{"out under a file", []string{"--out", filepath.Join(notADir, "report.json")}, "--out " + filepath.Join(notADir, "report.json") + ": cannot write the report there"},
		{"out is a directory", []string{"--out", dir}, "is a directory"},
		{"out in a missing directory", []string{"--out", filepath.Join(dir, "nope", "report.json")}, "cannot write the report there"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append(append([]string{"run"}, tt.args...), f)...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, exitUsage, stderr, tt.want)
			}
			if strings.Contains(stderr, "connecting") || stdout != "" {
				t.Errorf("the run started: stdout %q, stderr %q", stdout, stderr)
			}
		})
	}
}

func TestTargetThatStopsAnsweringIsInvalidNotPass(t *testing.T) {
	dir := t.TempDir()
	// The emulator holds every shadow response 3s; requests time out after
	// 1s. The threshold on rejections alone would pass: none came back.
	f := writeFile(t, dir, "silent.yaml", `name: silent
target: {emulator: {latency: "fixed:3s"}}
fleet: {things: 3}
observers:
  - {name: documents, count: 1, filters: ["$aws/things/+/shadow/update/documents"]}
phases:
  - {duration: 2s, rate: 15/s}
timeout: 1s
thresholds:
  update.rejected: ["rate<1%"]
`)
	out := filepath.Join(dir, "report.json")
	code, stdout, stderr := runCLI(t, "run", "--quiet", "--out", out, f)
	if code != exitInvalid {
		t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", code, exitInvalid, stdout, stderr)
	}
	for _, want := range []string{"INVALID the target stopped answering: requests timed out", "thresholds (not judged: the run is invalid)", "-  update.rejected"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "PASS") {
		t.Errorf("a threshold passed over a run whose target stopped answering:\n%s", stdout)
	}
	if !strings.Contains(stderr, "invalid run: ") {
		t.Errorf("stderr %q does not give the reasons", stderr)
	}
	rep := readReport(t, out)
	checkBooks(t, rep)
	if rep.Verdict != "invalid" {
		t.Errorf("report verdict %q, want invalid", rep.Verdict)
	}
}

func TestInterruptedRunEndsPromptlyWithItsReport(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "long.yaml", "name: long\nfleet: {things: 5}\nphases:\n  - {name: steady, duration: 60s, rate: 50/s}\ntimeout: 5s\n")
	out := filepath.Join(dir, "report.json")
	stderr := &syncBuffer{}
	var stdout bytes.Buffer
	sigs := make(chan os.Signal, 2)
	e := &env{stdout: &stdout, stderr: stderr, getenv: func(string) string { return "" },
		notify: func() (<-chan os.Signal, func()) { return sigs, func() {} }}
	started := stderr.waitFor(`steady 00:0[2-9] `)
	done := make(chan int)
	go func() { done <- dispatch(e, []string{"run", "--progress-every", "1s", "--out", out, f}) }()
	select {
	case <-started:
	case code := <-done:
		t.Fatalf("the run ended early, exit %d: %s", code, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("no progress line after 60s: %s", stderr.String())
	}
	sigs <- os.Interrupt
	begin := time.Now()
	var code int
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end after SIGINT")
	}
	t.Logf("ended %v after the signal", time.Since(begin).Round(time.Millisecond))
	if code != exitInvalid {
		t.Errorf("exit %d, want %d: %s", code, exitInvalid, stderr.String())
	}
	if !strings.Contains(stdout.String(), "INVALID interrupted after") || !strings.Contains(stdout.String(), "(interrupted by interrupt)") {
		t.Errorf("summary lacks the interruption:\n%s", stdout.String())
	}
	rep := readReport(t, out)
	checkBooks(t, rep)
	if rep.Duration < 2*time.Second || rep.Duration > 10*time.Second {
		t.Errorf("report duration %v, want the few seconds the run lasted, not the 60s planned", rep.Duration)
	}
}

func TestScaledSteadyFleetKeepsItsThroughputThreshold(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.json")
	code, stdout, stderr := runCLI(t, "run", "--quiet", "--out", out, "--rate", "200/s", "--things", "20", "--duration", "2s", "../../scenarios/steady-fleet.yaml")
	var sent *metrics.ThresholdResult
	rep := readReport(t, out)
	for i, th := range rep.Thresholds {
		if th.Metric == "update.sent" {
			sent = &rep.Thresholds[i]
		}
	}
	if sent == nil || !sent.Pass || sent.Expr != "achieved>=99%" {
		t.Errorf("exit %d; the throughput threshold %+v did not pass at --rate 200/s:\n%s\n%s", code, sent, stdout, stderr)
	}
	if !strings.Contains(stdout, "\nphase steady: ") || !strings.Contains(stdout, "update.accepted{phase:steady}") {
		t.Errorf("summary lacks the steady phase's statistics or threshold:\n%s", stdout)
	}
}

func TestConnectFailureNamesItsCause(t *testing.T) {
	addr, _ := startCLIEmulator(t, 2)
	// Bundles from another data directory trust another CA.
	other := filepath.Join(t.TempDir(), "data")
	if code, _, stderr := runCLI(t, "provision", "--data", other, "--things", "2", "--quiet"); code != exitOK {
		t.Fatalf("provision: exit %d: %s", code, stderr)
	}
	f := writeFile(t, t.TempDir(), "s.yaml", "name: s\nfleet: {things: 2}\nphases:\n  - {duration: 1s, rate: 2/s}\n")
	code, stdout, stderr := runCLI(t, "run", "--quiet", "--endpoint", addr, "--bundles", filepath.Join(other, "bundles"), f)
	if code != exitInvalid {
		t.Errorf("exit %d, want %d", code, exitInvalid)
	}
	for _, want := range []string{"no thing connected: connect failures: ", " tls (first: sim-0000", "server certificate signed by an unknown CA"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "first connect.failed.tls: ") {
		t.Errorf("summary lacks the first TLS failure:\n%s", stdout)
	}
}

func TestLogsHavePlainProgressAndNoCarriageReturn(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runCLI(t, "provision", "--data", filepath.Join(dir, "data"), "--things", "20")
	if code != exitOK || strings.Contains(stderr, "\r") || !strings.Contains(stderr, "provisioned 20/20\n") {
		t.Errorf("provision: exit %d, stderr %q; want plain lines", code, stderr)
	}
	f := writeFile(t, dir, "s.yaml", "name: s\nfleet: {things: 2}\nphases:\n  - {name: steady, duration: 3s, rate: 4/s}\n"+lateIsNoise)
	code, _, stderr = runCLI(t, "run", "--progress-every", "1s", f)
	if code != exitOK || strings.Contains(stderr, "\r") {
		t.Errorf("run: exit %d, stderr %q", code, stderr)
	}
	if n := strings.Count(stderr, "\nsteady 00:0"); n < 2 {
		t.Errorf("%d plain progress lines during a 3s schedule, want at least 2:\n%s", n, stderr)
	}
}

func TestAbortOnFailStopsTheRunAndExits1(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "abort.yaml", `name: abort
fleet: {things: 3}
phases:
  - {name: steady, duration: 30s, rate: 30/s}
thresholds:
  update.accepted: [{threshold: "max<1us", abortOnFail: true, delayAbortEval: 1s}]
`+lateIsNoise)
	out := filepath.Join(dir, "report.json")
	code, stdout, stderr := runCLI(t, "run", "--quiet", "--out", out, f)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFailed, stdout, stderr)
	}
	if !strings.Contains(stdout, "ABORTED update.accepted max<1us failed at") || !strings.Contains(stderr, "aborted: update.accepted") {
		t.Errorf("the abort is not reported:\n%s\n%s", stdout, stderr)
	}
	rep := readReport(t, out)
	checkBooks(t, rep)
	if len(rep.Invalid) != 0 || rep.Duration > 10*time.Second || rep.Verdict != "fail" {
		t.Errorf("invalid %q, duration %v, verdict %q; want a valid run stopped early, failed", rep.Invalid, rep.Duration, rep.Verdict)
	}
	var cfg map[string]any
	if err := json.Unmarshal(rep.Config, &cfg); err != nil || cfg["name"] != "abort" {
		t.Errorf("report config %s: %v", rep.Config, err)
	}
}
