package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// errHelpShown reports that a command printed its help on request: exit 0.
var errHelpShown = errors.New("")

// printUsage writes the top-level help: what the tool is and its commands.
func printUsage(w io.Writer) {
	fmt.Fprint(w, `shadowload load-tests the AWS IoT Core Device Shadow service over MQTT with
per-thing mutual-TLS identities, and ships an AWS IoT Core emulator so it runs
on a bare machine.

Usage:
  shadowload <command> [flags] [arguments]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "shadowload help <command>" or "shadowload <command> --help" for details.

Exit codes: 0 ok (a valid run passed); 1 a threshold failed (pub, sub and
shadow: the request failed); 2 fix something before a run (flags, scenario,
bundles, paths); 3 the run happened and cannot be trusted.
`)
}

// runHelp implements "shadowload help [command]".
func runHelp(e *env, args []string) error {
	if len(args) == 0 {
		printUsage(e.stdout)
		return nil
	}
	if len(args) > 1 {
		return usagef("help takes at most one command name, got %d", len(args))
	}
	cmd, ok := lookup(args[0])
	if !ok {
		return usagef("help: unknown command %q", args[0])
	}
	if cmd.name == "help" {
		printUsage(e.stdout)
		return nil
	}
	err := cmd.run(e, []string{"--help"})
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}

// flagSet is a pflag.FlagSet with the command's usage text: synopsis, a
// paragraph on what it does, and examples. Its Usage prints to e.stdout when
// help was asked for and to e.stderr on a flag error.
type flagSet struct {
	*pflag.FlagSet
	e        *env
	synopsis string
	about    string
	examples string
}

// newFlagSet makes the flag set of one subcommand.
func newFlagSet(e *env, name, synopsis, about, examples string) *flagSet {
	fs := &flagSet{
		FlagSet:  pflag.NewFlagSet(name, pflag.ContinueOnError),
		e:        e,
		synopsis: synopsis,
		about:    about,
		examples: examples,
	}
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	return fs
}

// printHelp writes the command's help to w.
func (fs *flagSet) printHelp(w io.Writer) {
	fmt.Fprintf(w, "Usage:\n  %s\n\n%s\n", fs.synopsis, strings.TrimSpace(fs.about))
	if fs.HasFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
	}
	if fs.examples != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", strings.TrimRight(fs.examples, "\n"))
	}
}

// parse parses args. --help prints the help to stdout and returns
// errHelpShown; a flag error comes back as a usage error that names the command.
func (fs *flagSet) parse(args []string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		fs.printHelp(fs.e.stdout)
		return errHelpShown
	case err != nil:
		return usagef("%s: %v (see \"shadowload %s --help\")", fs.Name(), err, fs.Name())
	}
	return nil
}
