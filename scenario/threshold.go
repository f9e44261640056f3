package scenario

import "fmt"

// checkThreshold reports why a threshold cannot be evaluated.
func checkThreshold(t ThresholdSpec) error {
	switch {
	case t.Metric == "":
		return fmt.Errorf("empty metric name")
	case t.Expr == "":
		return fmt.Errorf("empty expression; want one such as p(99)<250ms")
	}
	return nil
}
