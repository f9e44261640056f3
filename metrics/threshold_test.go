package metrics

import (
	"errors"
	"testing"
	"time"
)

func TestParseThresholdAcceptsEachForm(t *testing.T) {
	tests := []struct {
		expr   string
		stat   stat
		pct    float64
		op     op
		value  float64
		perSec bool
	}{
		{"p(99)<250ms", statPercentile, 99, opLT, float64(250 * time.Millisecond), false},
		{"p(99.9)<=1.5s", statPercentile, 99.9, opLE, float64(1500 * time.Millisecond), false},
		{" p( 50 ) > 800us ", statPercentile, 50, opGT, float64(800 * time.Microsecond), false},
		{"p(100)>=1s", statPercentile, 100, opGE, float64(time.Second), false},
		{"avg<100ms", statAvg, 0, opLT, float64(100 * time.Millisecond), false},
		{"min>=1µs", statMin, 0, opGE, float64(time.Microsecond), false},
		{"max!=0s", statMax, 0, opNE, 0, false},
		{"med==2ms", statMed, 0, opEQ, float64(2 * time.Millisecond), false},
		{"count<10", statCount, 0, opLT, 10, false},
		{"count==0", statCount, 0, opEQ, 0, false},
		{"rate<0.1%", statRate, 0, opLT, 0.001, false},
		{"rate <= 5 %", statRate, 0, opLE, 0.05, false},
		{"rate>=1900/s", statRate, 0, opGE, 1900, true},
		{"rate>0.5/s", statRate, 0, opGT, 0.5, true},
		{"achieved>=99%", statAchieved, 0, opGE, 0.99, false},
		{"achieved < 100.5 %", statAchieved, 0, opLT, 1.005, false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := ParseThreshold("update.accepted", tt.expr)
			if err != nil {
				t.Fatalf("ParseThreshold: %v", err)
			}
			if got.stat != tt.stat || got.pct != tt.pct || got.op != tt.op || got.perSec != tt.perSec ||
				!closeTo(got.value, tt.value) || got.Metric != "update.accepted" || got.Expr != tt.expr {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func closeTo(a, b float64) bool {
	d := a - b
	return d < 1e-12 && d > -1e-12
}

func TestParseThresholdErrorsSayWhatWasExpected(t *testing.T) {
	tests := []struct{ metric, expr, want string }{
		{"update.accepted", "p(99)<fast", `update.accepted: "p(99)<fast": want a duration such as 250ms`},
		{"update.accepted", "p(99)<-1ms", `update.accepted: "p(99)<-1ms": want a duration such as 250ms`},
		{"update.accepted", "p(99)<250", `update.accepted: "p(99)<250": want a duration such as 250ms`},
		{"update.accepted", "p(0)<1s", `update.accepted: "p(0)<1s": want a percentile above 0 and at most 100 such as p(99)`},
		{"update.accepted", "p(101)<1s", `update.accepted: "p(101)<1s": want a percentile above 0 and at most 100 such as p(99)`},
		{"update.accepted", "p(x)<1s", `update.accepted: "p(x)<1s": want a percentile above 0 and at most 100 such as p(99)`},
		{"update.accepted", "p(99<1s", `update.accepted: "p(99<1s": want a closing parenthesis in p(N) such as p(99)`},
		{"update.accepted", "p99<1s", `update.accepted: "p99<1s": want p(N), med, avg, min, max, count, rate or achieved, then an operator and a value, such as p(99)<250ms`},
		{"update.accepted", "", `update.accepted: "": want p(N), med, avg, min, max, count, rate or achieved, then an operator and a value, such as p(99)<250ms`},
		{"update.accepted", "p(99)~1s", `update.accepted: "p(99)~1s": want an operator (<, <=, >, >=, ==, !=) after p(99)`},
		{"update.accepted", "avg", `update.accepted: "avg": want an operator (<, <=, >, >=, ==, !=) after avg`},
		{"update.accepted", "avg=1s", `update.accepted: "avg=1s": want an operator (<, <=, >, >=, ==, !=) after avg`},
		{"update.sent", "count<1.5", `update.sent: "count<1.5": want a whole number such as 100`},
		{"update.sent", "count<-1", `update.sent: "count<-1": want a whole number such as 100`},
		{"update.rejected", "rate<0.1", `update.rejected: "rate<0.1": want a percentage such as 0.1% or a rate per second such as 1900/s`},
		{"update.rejected", "rate<101%", `update.rejected: "rate<101%": want a percentage from 0% to 100% such as 0.1%, or a rate such as 1900/s`},
		{"update.rejected", "rate<x%", `update.rejected: "rate<x%": want a percentage from 0% to 100% such as 0.1%, or a rate such as 1900/s`},
		{"update.sent", "rate>=-3/s", `update.sent: "rate>=-3/s": want a rate per second such as 1900/s, or a percentage such as 0.1%`},
		{"", "p(99)<1s", `: "p(99)<1s": want a metric name such as update.accepted`},
		{"update.sent", "achieved>=99", `update.sent: "achieved>=99": want a percentage of the planned count from 0% to 1000% such as 99%`},
		{"update.sent", "achieved>=400/s", `update.sent: "achieved>=400/s": want a percentage of the planned count from 0% to 1000% such as 99%`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := ParseThreshold(tt.metric, tt.expr)
			if err == nil {
				t.Fatal("ParseThreshold succeeded, want an error")
			}
			if err.Error() != tt.want {
				t.Errorf("error %q\nwant      %q", err, tt.want)
			}
			var te *ThresholdError
			if !errors.As(err, &te) || !errors.Is(err, ErrThreshold) {
				t.Errorf("error %T is not a *ThresholdError matching ErrThreshold", err)
			}
		})
	}
}

func TestThresholdEvaluatesOnRecordedValues(t *testing.T) {
	rep := knownRun(t)
	tests := []struct {
		metric, expr string
		pass         bool
		actual       string
	}{
		{"update.accepted", "p(99)<100ms", true, "p(99)=99ms"},
		{"update.accepted", "p(99)<98ms", false, "p(99)=99ms"},
		{"update.accepted", "p(50)<=51ms", true, "p(50)=50ms"},
		{"update.accepted", "med>49ms", true, "med=50ms"},
		{"update.accepted", "p(99.9)<101ms", true, "p(99.9)=100ms"},
		{"update.accepted", "avg<51ms", true, "avg=50.5ms"},
		{"update.accepted", "min>=1ms", false, "min=1ms"}, // 999.9µs: the low edge of the 1ms bucket
		{"update.accepted", "max>=100ms", true, "max=100ms"},
		{"update.accepted", "count==100", true, "count=100"},
		{"update.accepted", "count!=100", false, "count=100"},
		{"update.sent", "count>=20000", true, "count=20000"},
		{"update.sent", "rate>=1900/s", true, "rate=2000.0/s"},
		{"update.sent", "rate>2000/s", false, "rate=2000.0/s"},
		{"update.rejected", "rate<0.1%", false, "rate=0.1%"},
		{"update.rejected", "rate<=0.1%", true, "rate=0.1%"},
		{"update.sent", "rate<1%", false, "rate=n/a (update.sent has no base metric to divide by: declare it with metrics.Base)"},
		{"get.accepted", "p(99)<1s", false, "p(99)=n/a (no values)"},
		{"nope", "p(99)<1s", false, `p(99): no latency metric "nope" in the report`},
		{"nope", "count<1", false, `no metric "nope" in the report`},
	}
	for _, tt := range tests {
		t.Run(tt.metric+" "+tt.expr, func(t *testing.T) {
			th, err := ParseThreshold(tt.metric, tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got := th.Evaluate(rep)
			if got.Pass != tt.pass || got.Actual != tt.actual || got.Metric != tt.metric || got.Expr != tt.expr {
				t.Errorf("got %+v, want pass %v actual %q", got, tt.pass, tt.actual)
			}
		})
	}
}

func TestThresholdLiteralIsParsedWhenEvaluated(t *testing.T) {
	rep := knownRun(t)
	if got := (Threshold{Metric: "update.accepted", Expr: "p(99)<1s"}).Evaluate(rep); !got.Pass {
		t.Errorf("literal threshold: %+v", got)
	}
	got := (Threshold{Metric: "update.accepted", Expr: "p(99)<soon"}).Evaluate(rep)
	if got.Pass || got.Actual != `update.accepted: "p(99)<soon": want a duration such as 250ms` {
		t.Errorf("bad literal threshold: %+v", got)
	}
}

func TestEvaluateFillsReportAndPassesOnlyIfAllPass(t *testing.T) {
	rep := knownRun(t)
	ok1, _ := ParseThreshold("update.accepted", "p(99)<250ms")
	ok2, _ := ParseThreshold("update.rejected", "rate<1%")
	bad, _ := ParseThreshold("update.accepted", "p(50)<1ms")
	if !Evaluate(rep, []Threshold{ok1, ok2}) || len(rep.Thresholds) != 2 {
		t.Errorf("two passing thresholds: %+v", rep.Thresholds)
	}
	if Evaluate(rep, []Threshold{ok1, bad, ok2}) || len(rep.Thresholds) != 3 || rep.Thresholds[1].Pass {
		t.Errorf("one failing threshold: %+v", rep.Thresholds)
	}
	if !Evaluate(rep, nil) || len(rep.Thresholds) != 0 {
		t.Errorf("no thresholds: %+v", rep.Thresholds)
	}
}

func TestRateOfZeroBaseFails(t *testing.T) {
	rep := &Report{Counters: map[string]int64{"update.sent": 0, "update.rejected": 0}, Bases: map[string]string{"update.rejected": "update.sent"}}
	th, _ := ParseThreshold("update.rejected", "rate<1%")
	if got := th.Evaluate(rep); got.Pass || got.Actual != "rate=n/a (update.sent=0)" {
		t.Errorf("got %+v", got)
	}
	th, _ = ParseThreshold("update.sent", "rate>=0/s")
	if got := th.Evaluate(rep); got.Pass || got.Actual != "rate=n/a (the run's duration is 0s)" {
		t.Errorf("got %+v", got)
	}
}

func TestAchievedDividesByThePlannedCount(t *testing.T) {
	rep := &Report{
		Counters: map[string]int64{"update.sent": 990, "update.scheduled": 1000, "get.sent": 5, "get.scheduled": 0},
		Planned:  map[string]string{"update.sent": "update.scheduled", "get.sent": "get.scheduled"},
	}
	tests := []struct {
		metric, expr string
		pass         bool
		actual       string
	}{
		{"update.sent", "achieved>=99%", true, "achieved=99% (990 of 1000)"},
		{"update.sent", "achieved>99%", false, "achieved=99% (990 of 1000)"},
		{"get.sent", "achieved>=99%", false, "achieved=n/a (get.scheduled=0: nothing was planned)"},
		{"delete.sent", "achieved>=99%", false, `no metric "delete.sent" in the report`},
		{"update.scheduled", "achieved>=99%", false, "achieved=n/a (update.scheduled has no planned count to divide by)"},
	}
	for _, tt := range tests {
		th, err := ParseThreshold(tt.metric, tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := th.Evaluate(rep); got.Pass != tt.pass || got.Actual != tt.actual {
			t.Errorf("%s %s = %+v; want pass %v, actual %q", tt.metric, tt.expr, got, tt.pass, tt.actual)
		}
	}
}

func TestSplitScopeReversesScoped(t *testing.T) {
	m, p, ok := SplitScope(Scoped("update.accepted", "steady-1"))
	if !ok || m != "update.accepted" || p != "steady-1" {
		t.Errorf("SplitScope(Scoped) = %q, %q, %v", m, p, ok)
	}
	for _, name := range []string{"update.accepted", "update.accepted{phase:}", "x{phase:a", "{phase:a}x"} {
		if _, _, ok := SplitScope(name); ok {
			t.Errorf("SplitScope(%q) found a scope", name)
		}
	}
}
