// Package runner runs a scenario: everything between a parsed scenario and
// a judged report. It checks what can be checked before the first
// connection (output path, bundles, thresholds), starts the embedded
// emulator and provisions its fleet or loads the bundles of a real
// endpoint, maps the scenario onto the load engine with the MQTT 5
// transport, drives the run with progress and abortOnFail thresholds, and
// gives the verdict: the run's validity first, then its thresholds.
//
// Its errors decide the command's exit code through three sentinels:
// ErrSetup (the user must fix something before a run), ErrInvalid (the run
// happened and cannot be trusted) and ErrThresholds (a threshold failed).
package runner
