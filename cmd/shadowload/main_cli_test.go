package main

import (
	"os"
	"testing"
)

// asCLI is set in the environment of the test binary started as the
// shadowload command, for tests that need separate processes.
const asCLI = "SHADOWLOAD_TEST_BINARY_AS_CLI"

// TestMain runs the test binary as the shadowload command when asCLI is
// set, so that a test can start shard processes without building a binary.
func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" {
		e := &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, notify: notifySignals, exit: os.Exit}
		os.Exit(dispatch(e, os.Args[1:]))
	}
	os.Exit(m.Run())
}
