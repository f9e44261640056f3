package scenario

import (
	"math"
	"testing"
)

// FuzzProtocolMix checks that ParseProtocolMix never panics, and that an
// accepted mix writes back to one that splits a fleet the same way.
func FuzzProtocolMix(f *testing.F) {
	for _, s := range []string{"mqtt5", "mqtt311", "mqtt5:70,mqtt311:30", "mqtt5:0", "mqtt5:,", ":", "mqtt311:999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseProtocolMix(s)
		if err != nil {
			return
		}
		back, err := ParseProtocolMix(m.String())
		if err != nil || back.Things(997) != m.Things(997) {
			t.Fatalf("ParseProtocolMix(%q) = %v → %q → %v, %v", s, m, m.String(), back, err)
		}
	})
}

// FuzzChurnRate checks that ParseChurnRate never panics and accepts only
// shares from 0 to all of the fleet each second.
func FuzzChurnRate(f *testing.F) {
	for _, s := range []string{"5%/min", "1%/s", "30%/h", "100%/s", "1e9%/s", "NaN%/min", "-0%/m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseChurnRate(s)
		if err != nil {
			return
		}
		if math.IsNaN(r) || r < 0 || r > 60 {
			t.Fatalf("ParseChurnRate(%q) = %v; want a share per minute from 0 to 60", s, r)
		}
	})
}
