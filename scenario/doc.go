// Package scenario reads shadowload scenario files: the fleet, the phases of
// load, the payload, the validity bounds and the pass/fail thresholds of a
// run. It is the file model and the plan; it opens no connection (package
// internal/runner runs a scenario).
//
// A scenario file is strict YAML. Load and Parse report every problem they find
// at once, each with its file, line and column, and fill in the documented
// defaults so that a parsed Scenario holds explicit values only. Plan turns a
// Scenario into the message rates it implies per connection and warns where
// those rates meet AWS IoT Core quotas. Payload.Compile builds a Generator that
// appends the JSON fields of shadow updates without allocating.
//
// The file format is described key by key in docs/scenarios.md.
package scenario
