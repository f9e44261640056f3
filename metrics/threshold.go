package metrics

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Threshold is a pass/fail condition on one metric of a report, k6 style:
// Metric "update.accepted" with Expr "p(99)<250ms". Build one with
// ParseThreshold; a Threshold built as a literal is parsed when evaluated.
//
// Expressions are a statistic, an operator (<, <=, >, >=, ==, !=) and a
// value:
//
//	p(N), med, avg, min, max  a latency; value a duration: 250ms, 1.5s, 800us
//	count                     the number of values or the counter; value a whole number
//	rate                      a percentage such as 0.1%: the count divided by the
//	                          count of the metric's Base; or a per-second rate
//	                          such as 1900/s: the count over the run's duration
//	achieved                  a percentage such as 99%: the count divided by the
//	                          count of what the schedule planned (the metric's
//	                          Planned counter), so it holds at any scaled rate
//
// Metric may be scoped to a phase, "update.accepted{phase:steady}" (see
// Scoped): the threshold then judges what that phase's requests recorded.
type Threshold struct {
	Metric string
	Expr   string

	stat   stat
	pct    float64 // the N of p(N)
	op     op
	value  float64 // ns, a count, a ratio (0.001 for 0.1%) or a per-second rate
	perSec bool    // rate given as N/s rather than N%
}

// stat is the statistic a threshold checks.
type stat uint8

// The statistics; statNone marks a Threshold not yet parsed.
const (
	statNone stat = iota
	statPercentile
	statAvg
	statMin
	statMax
	statMed
	statCount
	statRate
	statAchieved
)

// op is a threshold's comparison.
type op uint8

// The comparisons.
const (
	opLT op = iota + 1
	opLE
	opGT
	opGE
	opEQ
	opNE
)

// holds reports whether "a op b" is true.
func (o op) holds(a, b float64) bool {
	switch o {
	case opLT:
		return a < b
	case opLE:
		return a <= b
	case opGT:
		return a > b
	case opGE:
		return a >= b
	case opEQ:
		return a == b
	default:
		return a != b
	}
}

// ThresholdError is the error of a threshold that does not parse: Want says
// what was expected.
type ThresholdError struct {
	Metric, Expr, Want string
}

// Error writes the threshold error as "metric: \"expr\": want what".
func (e *ThresholdError) Error() string {
	return fmt.Sprintf("%s: %q: want %s", e.Metric, e.Expr, e.Want)
}

// ErrThreshold is matched by every *ThresholdError with errors.Is.
var ErrThreshold = errors.New("invalid threshold")

// Is reports whether target is ErrThreshold.
func (e *ThresholdError) Is(target error) bool { return target == ErrThreshold }

// ParseThreshold parses expr as a threshold on metric. Spaces around the
// parts are allowed. Errors are *ThresholdError and say what was expected:
//
//	update.accepted: "p(99)<fast": want a duration such as 250ms
func ParseThreshold(metric, expr string) (Threshold, error) {
	t := Threshold{Metric: metric, Expr: expr}
	fail := func(want string) (Threshold, error) {
		return Threshold{}, &ThresholdError{Metric: metric, Expr: expr, Want: want}
	}
	if strings.TrimSpace(metric) == "" {
		return fail("a metric name such as update.accepted")
	}
	s := strings.TrimSpace(expr)
	var statText string
	switch {
	case strings.HasPrefix(s, "p("):
		end := strings.IndexByte(s, ')')
		if end < 0 {
			return fail("a closing parenthesis in p(N) such as p(99)")
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(s[2:end]), 64)
		if err != nil || !(n > 0 && n <= 100) {
			return fail("a percentile above 0 and at most 100 such as p(99)")
		}
		t.stat, t.pct, statText, s = statPercentile, n, s[:end+1], s[end+1:]
	default:
		word := s
		if i := strings.IndexAny(s, "<>=! \t"); i >= 0 {
			word = s[:i]
		}
		switch word {
		case "avg":
			t.stat = statAvg
		case "min":
			t.stat = statMin
		case "max":
			t.stat = statMax
		case "med":
			t.stat = statMed
		case "count":
			t.stat = statCount
		case "rate":
			t.stat = statRate
		case "achieved":
			t.stat = statAchieved
		default:
			return fail("p(N), med, avg, min, max, count, rate or achieved, then an operator and a value, such as p(99)<250ms")
		}
		statText, s = word, s[len(word):]
	}
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "<="):
		t.op, s = opLE, s[2:]
	case strings.HasPrefix(s, ">="):
		t.op, s = opGE, s[2:]
	case strings.HasPrefix(s, "=="):
		t.op, s = opEQ, s[2:]
	case strings.HasPrefix(s, "!="):
		t.op, s = opNE, s[2:]
	case strings.HasPrefix(s, "<"):
		t.op, s = opLT, s[1:]
	case strings.HasPrefix(s, ">"):
		t.op, s = opGT, s[1:]
	default:
		return fail("an operator (<, <=, >, >=, ==, !=) after " + statText)
	}
	s = strings.TrimSpace(s)
	switch t.stat {
	case statCount:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return fail("a whole number such as 100")
		}
		t.value = float64(n)
	case statRate:
		switch {
		case strings.HasSuffix(s, "%"):
			v, err := strconv.ParseFloat(strings.TrimSpace(s[:len(s)-1]), 64)
			if err != nil || !(v >= 0 && v <= 100) {
				return fail("a percentage from 0% to 100% such as 0.1%, or a rate such as 1900/s")
			}
			t.value = v / 100
		case strings.HasSuffix(s, "/s"):
			v, err := strconv.ParseFloat(strings.TrimSpace(s[:len(s)-2]), 64)
			if err != nil || !(v >= 0) || math.IsInf(v, 1) {
				return fail("a rate per second such as 1900/s, or a percentage such as 0.1%")
			}
			t.value, t.perSec = v, true
		default:
			return fail("a percentage such as 0.1% or a rate per second such as 1900/s")
		}
	case statAchieved:
		num, ok := strings.CutSuffix(s, "%")
		v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if !ok || err != nil || !(v >= 0 && v <= 1000) {
			return fail("a percentage of the planned count from 0% to 1000% such as 99%")
		}
		t.value = v / 100
	default:
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return fail("a duration such as 250ms")
		}
		t.value = float64(d)
	}
	return t, nil
}

// ThresholdResult is the verdict of one threshold on a report. Actual is
// the measured value in the threshold's terms, such as "p(99)=231ms".
type ThresholdResult struct {
	Metric string `json:"metric"`
	Expr   string `json:"expr"`
	Pass   bool   `json:"pass"`
	Actual string `json:"actual"`
	// Undecided says the report could not decide the threshold (the metric
	// is missing, has no values, or its base or planned count is zero); it
	// then fails, and Actual says why.
	Undecided bool `json:"undecided,omitempty"`
}

// Evaluate checks the threshold against r. A threshold that cannot be
// decided (the metric is missing, a latency has no values, a rate's base
// counted nothing) fails, and Actual says why.
func (t Threshold) Evaluate(r *Report) ThresholdResult {
	res := ThresholdResult{Metric: t.Metric, Expr: t.Expr}
	if t.stat == statNone {
		p, err := ParseThreshold(t.Metric, t.Expr)
		if err != nil {
			res.Actual, res.Undecided = err.Error(), true
			return res
		}
		t = p
	}
	actual, text, err := t.measure(r)
	if err != nil {
		res.Actual, res.Undecided = err.Error(), true
		return res
	}
	res.Actual = text
	res.Pass = t.op.holds(actual, t.value)
	return res
}

// measure returns the threshold's statistic in r, as a number and as text.
func (t Threshold) measure(r *Report) (float64, string, error) {
	switch t.stat {
	case statCount:
		n, err := metricCount(r, t.Metric)
		if err != nil {
			return 0, "", err
		}
		return float64(n), "count=" + strconv.FormatInt(n, 10), nil
	case statAchieved:
		n, err := metricCount(r, t.Metric)
		if err != nil {
			return 0, "", err
		}
		planned := r.Planned[t.Metric]
		if planned == "" {
			return 0, "", fmt.Errorf("achieved=n/a (%s has no planned count to divide by)", t.Metric)
		}
		d, err := metricCount(r, planned)
		if err != nil {
			return 0, "", err
		}
		if d == 0 {
			return 0, "", fmt.Errorf("achieved=n/a (%s=0: nothing was planned)", planned)
		}
		v := float64(n) / float64(d)
		return v, "achieved=" + formatPercent(v) + " (" + strconv.FormatInt(n, 10) + " of " + strconv.FormatInt(d, 10) + ")", nil
	case statRate:
		n, err := metricCount(r, t.Metric)
		if err != nil {
			return 0, "", err
		}
		if t.perSec {
			if r.Duration <= 0 {
				return 0, "", fmt.Errorf("rate=n/a (the run's duration is %v)", r.Duration)
			}
			v := float64(n) / r.Duration.Seconds()
			return v, "rate=" + strconv.FormatFloat(v, 'f', 1, 64) + "/s", nil
		}
		base := r.Bases[t.Metric]
		if base == "" {
			return 0, "", fmt.Errorf("rate=n/a (%s has no base metric to divide by: declare it with metrics.Base)", t.Metric)
		}
		d, err := metricCount(r, base)
		if err != nil {
			return 0, "", err
		}
		if d == 0 {
			return 0, "", fmt.Errorf("rate=n/a (%s=0)", base)
		}
		v := float64(n) / float64(d)
		return v, "rate=" + formatPercent(v), nil
	}
	lr, ok := r.Latencies[t.Metric]
	if !ok {
		return 0, "", fmt.Errorf("%s: no latency metric %q in the report", t.stat.name(t.pct), t.Metric)
	}
	if lr.Count == 0 {
		return 0, "", fmt.Errorf("%s=n/a (no values)", t.stat.name(t.pct))
	}
	var v float64
	switch t.stat {
	case statAvg:
		v = lr.Mean
	case statMin:
		v = lr.Min
	case statMax:
		v = lr.Max
	default:
		h, err := r.Histogram(t.Metric)
		if err != nil {
			return 0, "", err
		}
		pct := t.pct
		if t.stat == statMed {
			pct = 50
		}
		v = float64(h.ValueAtQuantile(pct))
	}
	return v, t.stat.name(t.pct) + "=" + FormatLatency(v), nil
}

// name writes the statistic as thresholds spell it, p(N) with pct.
func (s stat) name(pct float64) string {
	switch s {
	case statPercentile:
		return "p(" + strconv.FormatFloat(pct, 'f', -1, 64) + ")"
	case statAvg:
		return "avg"
	case statMin:
		return "min"
	case statMax:
		return "max"
	case statMed:
		return "med"
	case statCount:
		return "count"
	case statAchieved:
		return "achieved"
	default:
		return "rate"
	}
}

// metricCount is the count of a counter, or the number of values of a
// latency metric.
func metricCount(r *Report, name string) (int64, error) {
	if n, ok := r.Counters[name]; ok {
		return n, nil
	}
	if lr, ok := r.Latencies[name]; ok {
		return lr.Count, nil
	}
	return 0, fmt.Errorf("no metric %q in the report", name)
}

// formatPercent writes a ratio as a percentage with at least three
// significant digits (at most four decimals), trailing zeros trimmed.
func formatPercent(v float64) string {
	p := v * 100
	prec := 4
	switch {
	case p >= 1:
		prec = 2
	case p >= 0.1:
		prec = 3
	}
	return trimZeros(strconv.FormatFloat(p, 'f', prec, 64)) + "%"
}

// IsLatency reports whether the threshold reads a latency distribution
// (p(N), med, avg, min, max) rather than a count.
func (t Threshold) IsLatency() bool {
	switch t.stat {
	case statCount, statRate, statAchieved:
		return false
	}
	return true
}

// Evaluate evaluates every threshold against r, stores the results in
// r.Thresholds and reports whether all passed. No thresholds pass.
func Evaluate(r *Report, ts []Threshold) (pass bool) {
	r.Thresholds = make([]ThresholdResult, 0, len(ts))
	pass = true
	for _, t := range ts {
		res := t.Evaluate(r)
		pass = pass && res.Pass
		r.Thresholds = append(r.Thresholds, res)
	}
	return pass
}
