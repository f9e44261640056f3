package scenario

import (
	"math"
	"strings"
	"testing"
)

func TestParseRateUnits(t *testing.T) {
	tests := []struct {
		in   string
		want Rate
	}{
		{"500/s", 500},
		{"0/s", 0},
		{"0.5/s", 0.5},
		{"30/m", 0.5},
		{"3600/h", 1},
		{"1.5/m", 0.025},
		{"007/s", 7},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if err != nil || math.Abs(float64(got-tt.want)) > 1e-12 {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseRateRejects(t *testing.T) {
	for _, in := range []string{"", "100", "/s", "-1/s", "+1/s", "1e3/s", "1./s", ".5/s", "1 /s", "1/S", "1/d", "fast", "NaN/s", "Inf/s", "0x10/s", "1_000/s", strings.Repeat("9", 400) + "/s"} {
		if r, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) = %v; want an error", in, r)
		}
	}
}

func TestRateStringPicksAWholeUnit(t *testing.T) {
	tests := []struct {
		r    Rate
		want string
	}{
		{100, "100/s"},
		{0, "0/s"},
		{0.5, "30/m"},
		{1.0 / 60, "1/m"},
		{1.0 / 3600, "1/h"},
		{2.5, "150/m"},
		{1.0 / 7, "0.14285714285714285/s"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("Rate(%v).String() = %q; want %q", float64(tt.r), got, tt.want)
		}
	}
}

func TestRateStringRoundTrips(t *testing.T) {
	for _, in := range []string{"1/m", "7/h", "0.001/s", "123.456/s", "5/m", "99999/h"} {
		r, err := ParseRate(in)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseRate(r.String())
		if err != nil || !closeRate(back, r) {
			t.Errorf("%q → %q → %v, %v; want %v", in, r.String(), back, err, r)
		}
	}
}

func closeRate(a, b Rate) bool {
	return math.Abs(float64(a-b)) <= 1e-9*math.Max(1, math.Abs(float64(b)))
}
