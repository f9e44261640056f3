package metrics

import "strings"

// Scoped gives the name of metric name restricted to one phase of a run,
// "update.accepted{phase:steady}": what the phase's requests recorded. A
// run declares scoped metrics beside the whole-run ones, and thresholds
// name them like any other metric.
func Scoped(name, phase string) string {
	return name + "{phase:" + phase + "}"
}

// SplitScope splits a scoped metric name into the metric and the phase;
// ok is false for a whole-run name.
func SplitScope(name string) (metric, phase string, ok bool) {
	i := strings.Index(name, "{phase:")
	if i < 0 || !strings.HasSuffix(name, "}") || i+len("{phase:") >= len(name)-1 {
		return name, "", false
	}
	return name[:i], name[i+len("{phase:") : len(name)-1], true
}
