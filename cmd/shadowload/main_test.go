package main

import (
	"bytes"
	"strings"
	"testing"
)

// runCLI runs the CLI in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = dispatch(e, args)
	return code, out.String(), errb.String()
}

func TestCLIExitCodesAndHelp(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		wantStdout string
		wantStderr string
	}{
		{"no command prints usage to stderr", nil, exitUsage, "", "Commands:"},
		{"--help prints usage", []string{"--help"}, exitOK, "Commands:", ""},
		{"help lists commands", []string{"help"}, exitOK, "version", ""},
		{"help for a command", []string{"help", "version"}, exitOK, "Examples:", ""},
		{"command --help", []string{"version", "--help"}, exitOK, "Usage:\n  shadowload version", ""},
		{"version", []string{"version"}, exitOK, "shadowload ", ""},
		{"unknown command", []string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{"unknown flag names the command", []string{"version", "--bogus"}, exitUsage, "", `version: unknown flag: --bogus`},
		{"help for unknown command", []string{"help", "nope"}, exitUsage, "", `unknown command "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout, tt.wantStdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}
