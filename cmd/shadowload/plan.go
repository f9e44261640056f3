package main

func runPlan(e *env, args []string) error {
	fs := newFlagSet(e, "plan",
		"shadowload plan [FILE]",
		`Print what a scenario will ask of the target, per phase: connects/s,
requests/s for the fleet, per thing and per shadow, messages per second in and
out of each device connection, documents and deltas, observer fan-out and
subscriptions per connection, with a warning wherever an AWS IoT Core quota
(reference: 20 shadow requests/s per thing, 100 publishes/s per connection,
50 subscriptions per connection, 500 connects/s per account…) would be
exceeded. The override flags of run apply, so the plan is of the run as it
will be. Without FILE it plans scenarios/quickstart.yaml.`,
		`  shadowload plan scenarios/steady-fleet.yaml
  shadowload plan --rate 2000/s scenarios/steady-fleet.yaml`)
	over := addOverrides(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	file, err := scenarioArg(fs, "plan")
	if err != nil {
		return err
	}
	s, err := loadScenario(file)
	if err != nil {
		return err
	}
	if err := over.apply(fs, "plan", s); err != nil {
		return err
	}
	return s.Plan().WriteText(e.stdout)
}
