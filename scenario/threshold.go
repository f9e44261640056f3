package scenario

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/shadowload/shadowload/internal/load"
	"github.com/shadowload/shadowload/metrics"
)

// metricName is the shape of a metric name: dotted words such as
// update.accepted or update.rejected.409, optionally scoped to a phase as
// update.accepted{phase:steady}.
var metricName = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\{phase:[^{}]+\})?$`)

// checkMetric reports why name cannot name a metric.
func checkMetric(name string) error {
	if !metricName.MatchString(name) {
		return fmt.Errorf("metric %q: want a dotted name such as update.accepted, or one scoped to a phase such as update.accepted{phase:steady}", name)
	}
	return nil
}

// MetricNames lists the metrics a run of the scenario records, whole-run
// and scoped to each phase: the names its thresholds may use.
func (s *Scenario) MetricNames() []string {
	phases := make([]string, len(s.Phases))
	for i, p := range s.Phases {
		phases[i] = p.Name
	}
	groups := make([]load.ObserverGroup, len(s.Observers))
	for i, o := range s.Observers {
		groups[i] = load.ObserverGroup{Name: o.Name, Filters: o.Filters}
	}
	return load.MetricNames(phases, groups)
}

// checkThreshold reports why a threshold expression does not parse, in the
// words of metrics.ParseThreshold.
func checkThreshold(t ThresholdSpec) error {
	_, err := metrics.ParseThreshold(t.Metric, t.Expr)
	if te := (*metrics.ThresholdError)(nil); errors.As(err, &te) {
		return fmt.Errorf("%q: want %s", te.Expr, te.Want)
	}
	return err
}

// Threshold parses the expression for evaluation over a report.
func (t ThresholdSpec) Threshold() (metrics.Threshold, error) {
	return metrics.ParseThreshold(t.Metric, t.Expr)
}
