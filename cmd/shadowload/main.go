// Command shadowload load-tests the AWS IoT Core Device Shadow service, or the
// AWS IoT Core emulator it carries, and gates CI on the result.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/shadowload/shadowload/internal/runner"
)

// Exit codes: one meaning each. Scripts and CI rely on them.
const (
	// exitOK: the command did what was asked; a run was valid and passed
	// every threshold.
	exitOK = 0
	// exitFailed: a valid run failed a threshold (or an abortOnFail
	// threshold stopped it); for the console commands (pub, sub, shadow),
	// the target refused the request.
	exitFailed = 1
	// exitUsage: the user must fix something before anything runs: flags,
	// arguments, the scenario, bundles, output paths, rates out of range,
	// unknown metric names in thresholds, the embedded emulator's start.
	exitUsage = 2
	// exitInvalid: the run happened and cannot be trusted; the reasons are
	// listed and no threshold judges it.
	exitInvalid = 3
)

// usageError marks an error as the user's to fix: it exits with exitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// command is one subcommand: its name, a one-line summary for `help`, and the
// function that parses its flags and does the work.
type command struct {
	name    string
	summary string
	run     func(env *env, args []string) error
}

// env is what a subcommand may touch of the outside world, so tests can run
// commands in-process.
type env struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// stderrTerminal says stderr is a terminal: live progress goes there.
	stderrTerminal bool
	// notify delivers SIGINT and SIGTERM on the channel it returns until
	// stop is called.
	notify func() (sigs <-chan os.Signal, stop func())
	// exit ends the process at once; nil in tests.
	exit func(code int)
}

func commands() []command {
	return []command{
		{"run", "run a scenario and report (the main job)", runRun},
		{"report", "show a report as text, HTML, hgrm, hlog, JUnit, CSV or JSON", runReport},
		{"compare", "compare a run against a baseline: exit 1 on a regression", runCompare},
		{"merge", "merge the reports of a sharded run and judge the fleet", runMerge},
		{"validate", "check scenario files", runValidate},
		{"plan", "show the load a scenario puts on the target, against AWS quotas", runPlan},
		{"provision", "create certificates, things and policies; write bundles", runProvision},
		{"deprovision", "remove what provision made in AWS (or the emulator's API)", runDeprovision},
		{"endpoint", "print the account's MQTT data endpoint", runEndpoint},
		{"policy", "print the default thing or observer policy", runPolicy},
		{"emulator", "serve the AWS IoT Core emulator", runEmulator},
		{"sub", "subscribe to topic filters and print messages", runSub},
		{"pub", "publish one message", runPub},
		{"shadow", "send one shadow get, update or delete and print the reply", runShadow},
		{"version", "print the version", runVersion},
		{"help", "show help for a command", runHelp},
	}
}

func main() {
	e := &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, stderrTerminal: isTerminal(os.Stderr),
		notify: notifySignals, exit: os.Exit}
	os.Exit(dispatch(e, os.Args[1:]))
}

// dispatch runs the subcommand named by args[0] and maps its error to an exit code.
func dispatch(e *env, args []string) int {
	if len(args) == 0 {
		printUsage(e.stderr)
		return exitUsage
	}
	name := args[0]
	if name == "-h" || name == "--help" {
		printUsage(e.stdout)
		return exitOK
	}
	cmd, ok := lookup(name)
	if !ok {
		fmt.Fprintf(e.stderr, "shadowload: unknown command %q\n\n", name)
		printUsage(e.stderr)
		return exitUsage
	}
	return exitCode(e, cmd.run(e, args[1:]))
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// exitCode prints err (if any) and picks the exit code for it from its
// type, never its message: the runner's ErrInvalid exits 3 and
// ErrThresholds 1; usage errors and the runner's ErrSetup exit 2; anything
// else is a console command whose request failed, exit 1.
func exitCode(e *env, err error) int {
	switch {
	case err == nil, errors.Is(err, errHelpShown):
		return exitOK
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(e.stderr, "shadowload: %s\n", msg)
	}
	var ue usageError
	switch {
	case errors.Is(err, runner.ErrInvalid):
		return exitInvalid
	case errors.Is(err, runner.ErrThresholds):
		return exitFailed
	case errors.As(err, &ue), errors.Is(err, runner.ErrSetup):
		return exitUsage
	}
	return exitFailed
}

// notifySignals delivers SIGINT and SIGTERM to the channel it returns.
func notifySignals() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}

// isTerminal reports whether f is a character device such as a terminal.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
