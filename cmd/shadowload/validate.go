package main

import "fmt"

func runValidate(e *env, args []string) error {
	fs := newFlagSet(e, "validate",
		"shadowload validate [flags] [FILE...]",
		`Check scenario files strictly without running them: unknown keys, wrong
types, bad durations and rates, values out of range, malformed thresholds and
thresholds on metrics no run records (update.acepted) are reported with file,
line and column. The override flags of run apply to each file, so a scenario is
checked as it will run. Exit 0 when every file is valid, 2 otherwise. Without
FILE it checks scenarios/quickstart.yaml.`,
		`  shadowload validate scenarios/*.yaml
  shadowload validate --rate 5000/s --duration 10m scenarios/steady-fleet.yaml`)
	over := addOverrides(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{defaultScenario}
	}
	var bad int
	for _, f := range files {
		s, err := loadScenario(f)
		if err == nil {
			err = over.apply(fs, "validate", s)
		}
		if err != nil {
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
