package main

import "fmt"

func runValidate(e *env, args []string) error {
	fs := newFlagSet(e, "validate",
		"shadowload validate [FILE...]",
		`Check scenario files strictly without running them: unknown keys, wrong
types, bad durations and rates, impossible values and malformed thresholds are
reported with file, line and column. Exit 0 when every file is valid, 2
otherwise. Without FILE it checks scenarios/quickstart.yaml.`,
		`  shadowload validate scenarios/*.yaml`)
	if err := fs.parse(args); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{defaultScenario}
	}
	var bad int
	for _, f := range files {
		if _, err := loadScenario(f); err != nil {
			fmt.Fprintln(e.stderr, err)
			bad++
			continue
		}
		fmt.Fprintf(e.stdout, "%s: ok\n", f)
	}
	if bad > 0 {
		return usagef("%d of %d scenario files invalid", bad, len(files))
	}
	return nil
}
