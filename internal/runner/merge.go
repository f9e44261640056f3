package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/shadowload/shadowload/internal/load"
	"github.com/shadowload/shadowload/metrics"
)

// Merge merges the reports of the shards of one run (metrics.Merge) and
// judges the result as Run judges a run: it is invalid when any shard was
// or the merged books break the scenario's validity bounds (fan-out loss
// included, which only the whole fleet's books can show), and otherwise
// the thresholds the shards recorded are evaluated again on the merged
// counts and histograms. It returns the merged report with an error that
// matches ErrInvalid or ErrThresholds as Run's would, or only an error
// matching ErrSetup when the reports cannot be merged: they are not the
// shards of one run.
func Merge(reports ...*metrics.Report) (*metrics.Report, error) {
	ths, err := recordedThresholds(reports)
	if err != nil {
		return nil, setupError(err)
	}
	v, err := recordedValidity(reports)
	if err != nil {
		return nil, setupError(err)
	}
	rep, err := metrics.Merge(reports...)
	if err != nil {
		return nil, setupError(err)
	}
	for _, reason := range v.Check(rep) {
		if !slices.Contains(rep.Invalid, reason) {
			rep.Invalid = append(rep.Invalid, "merged: "+reason)
		}
	}
	metrics.Evaluate(rep, ths)
	rep.Verdict = verdict(rep)
	return rep, outcome(rep)
}

// recordedThresholds parses the thresholds the reports were judged by;
// every report must have been judged by the same ones.
func recordedThresholds(reports []*metrics.Report) ([]metrics.Threshold, error) {
	var out []metrics.Threshold
	for i, r := range reports {
		var ts []metrics.Threshold
		for _, res := range r.Thresholds {
			t, err := metrics.ParseThreshold(res.Metric, res.Expr)
			if err != nil {
				return nil, fmt.Errorf("merge: report %d: threshold %w", i, err)
			}
			ts = append(ts, t)
		}
		if i == 0 {
			out = ts
			continue
		}
		if !slices.EqualFunc(ts, out, func(a, b metrics.Threshold) bool { return a.Metric == b.Metric && a.Expr == b.Expr }) {
			return nil, fmt.Errorf("merge: report %d was judged by other thresholds than report 0: not shards of one scenario", i)
		}
	}
	return out, nil
}

// recordedValidity reads the validity bounds a run recorded in its
// report's Config (see record); every report must carry the same ones.
// Reports that recorded none are judged by the defaults.
func recordedValidity(reports []*metrics.Report) (load.Validity, error) {
	var out load.Validity
	for i, r := range reports {
		v := load.DefaultValidity()
		if len(r.Config) > 0 {
			var c struct {
				Validity *load.Validity `json:"validity"`
			}
			if err := json.Unmarshal(r.Config, &c); err != nil {
				return out, fmt.Errorf("merge: report %d: config: %w", i, err)
			}
			if c.Validity != nil {
				v = *c.Validity
			}
		}
		if i > 0 && v != out {
			return out, errors.New("merge: the reports record different validity bounds: not shards of one scenario")
		}
		out = v
	}
	return out, nil
}
