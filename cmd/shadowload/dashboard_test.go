package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDashboardLingerFollowsTheTerminal runs a short scenario with
// --dashboard: with stderr not a terminal (a CI job) the run exits when it
// is done, with the run's exit code; from a terminal it keeps the final
// report up until a signal.
func TestDashboardLingerFollowsTheTerminal(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "s.yaml", lateIsNoise+"name: dash\nfleet: {things: 2}\nphases:\n  - {name: steady, duration: 1s, rate: 10/s}\n")
	for _, tc := range []struct {
		name     string
		terminal bool
	}{{"ci", false}, {"terminal", true}} {
		t.Run(tc.name, func(t *testing.T) {
			stderr := &syncBuffer{}
			sigs := make(chan os.Signal, 1)
			e := &env{stdout: io.Discard, stderr: stderr, stderrTerminal: tc.terminal, getenv: func(string) string { return "" },
				notify: func() (<-chan os.Signal, func()) { return sigs, func() {} }}
			done := make(chan int, 1)
			go func() {
				done <- dispatch(e, []string{"run", "--quiet", "--dashboard", "127.0.0.1:0", "--out", filepath.Join(dir, tc.name+".json"), file})
			}()
			if tc.terminal {
				select {
				case <-stderr.waitFor(`dashboard keeps the final report at \S+ for 10m0s`):
				case code := <-done:
					t.Fatalf("run from a terminal exited %d without lingering:\n%s", code, stderr.String())
				case <-time.After(60 * time.Second):
					t.Fatalf("no linger notice in 60s:\n%s", stderr.String())
				}
				sigs <- os.Interrupt
			}
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("exit %d; want the run's 0:\n%s", code, stderr.String())
				}
			case <-time.After(60 * time.Second):
				t.Fatalf("run with --dashboard still going after 60s:\n%s", stderr.String())
			}
			if !tc.terminal && strings.Contains(stderr.String(), "dashboard keeps") {
				t.Errorf("a run without a terminal lingered:\n%s", stderr.String())
			}
		})
	}
}
