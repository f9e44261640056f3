package metrics

import (
	"math"
	"testing"
)

func TestFormatLatencyPicksUnitAndThreeDigits(t *testing.T) {
	tests := []struct {
		ns   float64
		want string
	}{
		{0, "0ns"},
		{850, "850ns"},
		{999.6, "1µs"},
		{1000, "1µs"},
		{12345, "12.3µs"},
		{800_000, "800µs"},
		{999_700, "1ms"},
		{1_234_567, "1.23ms"},
		{231_000_000, "231ms"},
		{1_500_000_000, "1.5s"},
		{60_000_000_000, "60s"},
		{75_000_000_000, "75s"},
		{-2_000_000, "-2ms"},
		{math.Inf(1), "+Inf"},
	}
	for _, tt := range tests {
		if got := FormatLatency(tt.ns); got != tt.want {
			t.Errorf("FormatLatency(%v) = %q, want %q", tt.ns, got, tt.want)
		}
	}
}

func TestFormatPercentKeepsSmallRatesReadable(t *testing.T) {
	tests := []struct {
		ratio float64
		want  string
	}{
		{0, "0%"},
		{0.001, "0.1%"},
		{0.00001234, "0.0012%"},
		{0.5, "50%"},
		{1.0 / 3, "33.33%"},
	}
	for _, tt := range tests {
		if got := formatPercent(tt.ratio); got != tt.want {
			t.Errorf("formatPercent(%v) = %q, want %q", tt.ratio, got, tt.want)
		}
	}
}
