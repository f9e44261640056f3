package metrics

import (
	"errors"
	"testing"
)

func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{
		"p(99)<250ms", "p(99.9)<=1.5s", "avg<100ms", "min>=1µs", "max!=0s", "med==2ms",
		"count<10", "rate<0.1%", "rate>=1900/s", "p(99)<fast", "p(", "rate<", "count==-1", "",
	} {
		f.Add("update.accepted", s)
	}
	rep := knownRun(f)
	f.Fuzz(func(t *testing.T, metric, expr string) {
		th, err := ParseThreshold(metric, expr)
		if err != nil {
			if !errors.Is(err, ErrThreshold) {
				t.Fatalf("error %v is not an ErrThreshold", err)
			}
			return
		}
		again, err := ParseThreshold(th.Metric, th.Expr)
		if err != nil || again != th {
			t.Fatalf("re-parse of %q gives %+v, %v; want %+v", expr, again, err, th)
		}
		res := th.Evaluate(rep)
		if res.Actual == "" {
			t.Fatalf("evaluation of %q says nothing: %+v", expr, res)
		}
	})
}
