package scenario

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/shadowload/shadowload/metrics"
)

// metricName is the shape of a metric name: dotted words such as
// update.accepted or update.rejected.409.
var metricName = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// checkMetric reports why name cannot name a metric.
func checkMetric(name string) error {
	if !metricName.MatchString(name) {
		return fmt.Errorf("metric %q: want a dotted name such as update.accepted", name)
	}
	return nil
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
