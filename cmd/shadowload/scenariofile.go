package main

import (
	"errors"
	"io/fs"
	"os"
	"path"

	"github.com/shadowload/shadowload/scenario"
	"github.com/shadowload/shadowload/scenarios"
)

// defaultScenario is what run, plan and validate use without a FILE.
const defaultScenario = "scenarios/quickstart.yaml"

// loadScenario reads a scenario file. A path under scenarios/ that is not on
// disk (the binary run outside the repository) falls back to the copy
// shipped inside the binary. Every scenario error is a usage error.
func loadScenario(file string) (*scenario.Scenario, error) {
	s, err := scenario.Load(file)
	if err == nil {
		return s, nil
	}
	if errors.Is(err, fs.ErrNotExist) && path.Dir(file) == "scenarios" {
		if data, rerr := scenarios.Files.ReadFile(path.Base(file)); rerr == nil {
			if _, serr := os.Stat(file); serr != nil {
				s, err = scenario.Parse(file+" (built in)", data)
				if err == nil {
					return s, nil
				}
			}
		}
	}
	return nil, usageError{err}
}

// scenarioArg returns the single FILE argument, or the default.
func scenarioArg(fs *flagSet, cmd string) (string, error) {
	switch fs.NArg() {
	case 0:
		return defaultScenario, nil
	case 1:
		return fs.Arg(0), nil
	}
	return "", usagef("%s: want one scenario FILE, got %d arguments", cmd, fs.NArg())
}
