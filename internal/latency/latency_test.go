package latency

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestParseAcceptsEachDistribution(t *testing.T) {
	tests := []struct {
		spec, canon string
		zero        bool
	}{
		{"", "", true},
		{"none", "", true},
		{"fixed:20ms", "fixed:20ms", false},
		{"fixed:0s", "fixed:0s", true},
		{"uniform:5ms-50ms", "uniform:5ms-50ms", false},
		{"uniform:7ms-7ms", "uniform:7ms-7ms", false},
		{"normal:20ms,5ms", "normal:20ms,5ms", false},
		{"normal:1s,0s", "normal:1s,0s", false},
	}
	for _, tc := range tests {
		l, err := Parse(tc.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		if got := l.String(); got != tc.canon {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.spec, got, tc.canon)
		}
		if got := l.IsZero(); got != tc.zero {
			t.Errorf("Parse(%q).IsZero() = %v, want %v", tc.spec, got, tc.zero)
		}
	}
}

func TestParseRejectsWithExpectation(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"20ms", "missing ':'"},
		{"fixed:", "not a duration"},
		{"fixed:abc", "not a duration"},
		{"fixed:-1ms", "negative"},
		{"uniform:5ms", "MIN-MAX"},
		{"uniform:50ms-5ms", "exceeds maximum"},
		{"uniform:-5ms-5ms", "not a duration"},
		{"normal:20ms", "MEAN,STDDEV"},
		{"normal:20ms,-1ms", "negative"},
		{"pareto:1ms", "unknown distribution"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.spec)
		if err == nil {
			t.Errorf("Parse(%q) = nil error, want one mentioning %q", tc.spec, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "want") {
			t.Errorf("Parse(%q) error %q: want it to mention %q and what is expected", tc.spec, err, tc.want)
		}
	}
}

func TestLatencyDrawStaysInDistribution(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		spec     string
		min, max time.Duration
	}{
		{"", 0, 0},
		{"fixed:20ms", 20 * time.Millisecond, 20 * time.Millisecond},
		{"uniform:5ms-50ms", 5 * time.Millisecond, 50 * time.Millisecond},
		{"normal:1ms,100ms", 0, time.Hour},
	}
	for _, tc := range tests {
		l, err := Parse(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		var sum time.Duration
		for i := range 2000 {
			rr := r
			if i%2 == 1 {
				rr = nil
			}
			d := l.Draw(rr)
			if d < tc.min || d > tc.max {
				t.Fatalf("%s: draw %v outside [%v, %v]", tc.spec, d, tc.min, tc.max)
			}
			sum += d
		}
		if tc.spec == "uniform:5ms-50ms" {
			if mean := sum / 2000; mean < 20*time.Millisecond || mean > 35*time.Millisecond {
				t.Errorf("%s: mean of 2000 draws %v, want about 27.5ms", tc.spec, mean)
			}
		}
	}
}

func TestLatencyNormalClampsAtZero(t *testing.T) {
	l, err := Parse("normal:1ms,100ms")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	zeros := 0
	for range 1000 {
		if l.Draw(r) == 0 {
			zeros++
		}
	}
	if zeros < 300 {
		t.Errorf("normal:1ms,100ms gave %d zero draws of 1000, want about half clamped to 0", zeros)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "fixed:20ms", "uniform:5ms-50ms", "normal:20ms,5ms", "uniform:1h-1ns", "fixed:-0s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		l, err := Parse(spec)
		if err != nil {
			return
		}
		back, err := Parse(l.String())
		if err != nil || back != l {
			t.Fatalf("Parse(%q) = %v; reparsing its String gives %v, %v", spec, l, back, err)
		}
		if d := l.Draw(nil); d < 0 {
			t.Fatalf("Parse(%q).Draw = %v, want ≥ 0", spec, d)
		}
	})
}
