package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowload/shadowload/emulator"
)

// lateIsNoise lifts the bound on late slots, for tests whose subject is
// not the generator's pace: under the race detector on a shared 2-core
// machine a few slots start late in any short run.
const lateIsNoise = "validity: {late: 100%}\n"

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateNamesFileLineAndColumn(t *testing.T) {
	f := writeFile(t, t.TempDir(), "bad.yaml", "name: bad\nfleet:\n  thigns: 5\nphases:\n  - duration: 1s\n    rate: fast\n")
	code, stdout, stderr := runCLI(t, "validate", f)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d; stdout %q", code, exitUsage, stdout)
	}
	for _, want := range []string{f + ":3:3: fleet.thigns", `did you mean "things"`, f + ":6:11: phases[0].rate"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestValidateShippedScenarios(t *testing.T) {
	files, _ := filepath.Glob("../../scenarios/*.yaml")
	code, stdout, stderr := runCLI(t, append([]string{"validate"}, files...)...)
	if code != exitOK || strings.Count(stdout, ": ok") != len(files) {
		t.Fatalf("exit %d; stdout %q; stderr %q", code, stdout, stderr)
	}
}

func TestPlanPrintsPhases(t *testing.T) {
	code, stdout, stderr := runCLI(t, "plan", "../../scenarios/quickstart.yaml")
	if code != exitOK || !strings.Contains(stdout, "steady") {
		t.Fatalf("exit %d; stdout %q; stderr %q", code, stdout, stderr)
	}
}

func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	// The race detector on a shared machine makes the generator start slots
	// late; that, judged by the late bound, is not what this test checks.
	pass := writeFile(t, dir, "pass.yaml", "name: pass\nfleet: {things: 3}\nphases:\n  - {duration: 1s, rate: 20/s}\nthresholds:\n  update.accepted: [\"p(99)<10s\"]\n"+lateIsNoise)
	fail := writeFile(t, dir, "fail.yaml", "name: fail\nfleet: {things: 3}\nphases:\n  - {duration: 1s, rate: 20/s}\nthresholds:\n  update.accepted: [\"max<1us\"]\n"+lateIsNoise)
	out := filepath.Join(dir, "report.json")

	code, stdout, stderr := runCLI(t, "run", "--quiet", "--out", out, pass)
	if code != exitOK {
		t.Fatalf("passing run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "PASS  update.accepted") || !strings.Contains(stdout, "update.sent") {
		t.Errorf("summary lacks the verdict or the counts:\n%s", stdout)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), `"schema": "shadowload.report/v1"`) || !strings.Contains(string(b), `"verdict": "pass"`) {
		t.Errorf("report %s: %v %.200s", out, err, b)
	}

	code, stdout, stderr = runCLI(t, "run", "--quiet", fail)
	if code != exitFailed || !strings.Contains(stdout, "FAIL  update.accepted") {
		t.Errorf("failing threshold: exit %d, want %d\n%s\n%s", code, exitFailed, stdout, stderr)
	}

	code, _, stderr = runCLI(t, "run", "--quiet", "--things", "0", pass)
	if code != exitUsage {
		t.Errorf("--things 0: exit %d, want %d (%s)", code, exitUsage, stderr)
	}
	code, _, stderr = runCLI(t, "run", "--quiet", "--rate", "fast", pass)
	if code != exitUsage || !strings.Contains(stderr, "--rate") {
		t.Errorf("--rate fast: exit %d, want %d (%s)", code, exitUsage, stderr)
	}
}

func TestRunUnreachableEndpointExits3(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if code, _, stderr := runCLI(t, "provision", "--data", data, "--things", "2", "--quiet"); code != exitOK {
		t.Fatalf("provision: exit %d: %s", code, stderr)
	}
	f := writeFile(t, dir, "away.yaml", "name: away\nfleet: {things: 2}\nphases:\n  - {duration: 1s, rate: 2/s}\n")
	code, _, stderr := runCLI(t, "run", "--quiet", "--endpoint", "127.0.0.1:1", "--bundles", filepath.Join(data, "bundles"), f)
	if code != exitInvalid || !strings.Contains(stderr, "unreachable") {
		t.Errorf("exit %d, want %d; stderr %s", code, exitInvalid, stderr)
	}
}

// startCLIEmulator provisions things with the provision command and serves
// an emulator on their data directory.
func startCLIEmulator(t *testing.T, things int) (addr, bundles string) {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	if code, _, stderr := runCLI(t, "provision", "--data", data, "--things", strconv.Itoa(things), "--quiet"); code != exitOK {
		t.Fatalf("provision: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "provision", "--data", data, "--things", "1", "--observer", "--quiet"); code != exitOK {
		t.Fatalf("provision --observer: exit %d: %s", code, stderr)
	}
	em, err := emulator.New(emulator.Config{DataDir: data, Listen: "127.0.0.1:0", HashMatchesDollar: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := em.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	return em.Addr(), filepath.Join(data, "bundles")
}

func TestShadowCommandAgainstTheEmulator(t *testing.T) {
	addr, bundles := startCLIEmulator(t, 2)
	own := filepath.Join(bundles, "sim-00000")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
	}{
		{"update creates version 1", []string{"shadow", "update", "--bundle", own, `{"state":{"reported":{"on":true}}}`}, exitOK, `"version":1`},
		{"get returns the state", []string{"shadow", "get", "--bundle", own}, exitOK, `"reported":{"on":true}`},
		{"named shadow never created is 404", []string{"shadow", "get", "--bundle", own, "--name", "cfg"}, exitFailed, `No shadow exists with name: 'cfg'`},
		{"version conflict is 409", []string{"shadow", "update", "--bundle", own, `{"state":{"reported":{"on":false}},"version":7}`}, exitFailed, `"code":409`},
		{"delete keeps the version", []string{"shadow", "delete", "--bundle", own}, exitOK, `"version":1`},
		{"another thing's shadow is not authorized", []string{"shadow", "get", "--bundle", own, "--thing", "sim-00001"}, exitFailed, ""},
		{"update needs a document", []string{"shadow", "update", "--bundle", own}, exitUsage, ""},
		{"unknown operation", []string{"shadow", "patch", "--bundle", own}, exitUsage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append(tt.args, "--endpoint", addr)...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) {
				t.Errorf("exit %d (want %d), stdout %q (want %q), stderr %q", code, tt.code, stdout, tt.stdout, stderr)
			}
		})
	}
}

func TestSubSeesPub(t *testing.T) {
	addr, bundles := startCLIEmulator(t, 2)
	own := filepath.Join(bundles, "sim-00001")
	observer := filepath.Join(bundles, "observer-00")
	topic := "$aws/things/+/shadow/update/documents"
	var wg sync.WaitGroup
	var subCode int
	var subOut, subErr string
	wg.Add(1)
	go func() {
		defer wg.Done()
		subCode, subOut, subErr = runCLI(t, "sub", "--endpoint", addr, "--bundle", observer, "--count", "1", "--for", "10s", topic)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		time.Sleep(200 * time.Millisecond)
		code, _, stderr := runCLI(t, "shadow", "update", "--endpoint", addr, "--bundle", own, `{"state":{"reported":{"n":1}}}`)
		if code != exitOK {
			t.Fatalf("shadow update: exit %d: %s", code, stderr)
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(500 * time.Millisecond):
			if time.Now().Before(deadline) {
				continue
			}
			t.Fatal("sub printed nothing")
		}
		break
	}
	if subCode != exitOK || !strings.HasPrefix(subOut, "$aws/things/sim-00001/shadow/update/documents {") {
		t.Errorf("sub: exit %d, stdout %q, stderr %q", subCode, subOut, subErr)
	}
	code, _, stderr := runCLI(t, "pub", "--endpoint", addr, "--bundle", own, "elsewhere/topic", "x")
	if code != exitFailed || !strings.Contains(stderr, "Not authorized") {
		t.Errorf("pub outside the policy: exit %d, stderr %q", code, stderr)
	}
}
