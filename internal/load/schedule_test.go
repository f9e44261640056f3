package load

import (
	"math"
	"testing"
	"time"
)

func TestScheduleConstantRateSpacesSlotsEvenly(t *testing.T) {
	s := NewSchedule([]Phase{{Duration: 2 * time.Second, From: 100, To: 100}})
	if got := s.Slots(); got != 200 {
		t.Fatalf("Slots() = %d, want 200", got)
	}
	for i := int64(0); i < s.Slots(); i++ {
		want := time.Duration(i) * 10 * time.Millisecond
		if got := s.At(i); absDur(got-want) > time.Microsecond {
			t.Fatalf("At(%d) = %v, want %v", i, got, want)
		}
	}
}

func TestScheduleRampCountsAndOrder(t *testing.T) {
	tests := []struct {
		name      string
		from, to  float64
		dur       time.Duration
		wantSlots int64
	}{
		{"ramp up", 0, 100, 10 * time.Second, 500},
		{"ramp down", 100, 0, 10 * time.Second, 500},
		{"ramp 10 to 30", 10, 30, 5 * time.Second, 100},
		{"zero rate", 0, 0, 5 * time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSchedule([]Phase{{Duration: tt.dur, From: tt.from, To: tt.to}})
			if got := s.Slots(); got != tt.wantSlots {
				t.Fatalf("Slots() = %d, want %d", got, tt.wantSlots)
			}
			prev := time.Duration(-1)
			for i := int64(0); i < s.Slots(); i++ {
				at := s.At(i)
				if at <= prev && i > 0 {
					t.Fatalf("At(%d) = %v not after At(%d) = %v", i, at, i-1, prev)
				}
				if at >= tt.dur {
					t.Fatalf("At(%d) = %v beyond the phase end %v", i, at, tt.dur)
				}
				prev = at
			}
		})
	}
}

func TestScheduleRampFollowsTheRate(t *testing.T) {
	// Over each second of a 0→1000/s ramp the number of slots matches the
	// integral of the rate over that second.
	s := NewSchedule([]Phase{{Duration: 10 * time.Second, From: 0, To: 1000}})
	counts := make([]int, 10)
	for i := int64(0); i < s.Slots(); i++ {
		counts[int(s.At(i)/time.Second)]++
	}
	for sec, got := range counts {
		want := 100*float64(sec) + 50 // ∫ 100t dt over [sec, sec+1]
		if math.Abs(float64(got)-want) > 1 {
			t.Errorf("second %d: %d slots, want %.0f", sec, got, want)
		}
	}
}

func TestSchedulePhasesFollowOneAnother(t *testing.T) {
	s := NewSchedule([]Phase{
		{Name: "warm", Duration: time.Second, From: 10, To: 10},
		{Name: "hot", Duration: time.Second, From: 20, To: 20},
	})
	if got := s.Slots(); got != 30 {
		t.Fatalf("Slots() = %d, want 30", got)
	}
	if got := s.At(10); got != time.Second {
		t.Errorf("first slot of phase 2 at %v, want 1s", got)
	}
	if got := s.PhaseOf(9); got != 0 {
		t.Errorf("PhaseOf(9) = %d, want 0", got)
	}
	if got := s.PhaseOf(10); got != 1 {
		t.Errorf("PhaseOf(10) = %d, want 1", got)
	}
	if got := s.RateAt(1500 * time.Millisecond); got != 20 {
		t.Errorf("RateAt(1.5s) = %v, want 20", got)
	}
	if got := s.PhaseAt(3 * time.Second); got != -1 {
		t.Errorf("PhaseAt(3s) = %d, want -1 after the end", got)
	}
	if got := s.Duration(); got != 2*time.Second {
		t.Errorf("Duration() = %v, want 2s", got)
	}
}

func FuzzScheduleMonotonic(f *testing.F) {
	f.Add(0.0, 100.0, int64(1e9))
	f.Add(50.0, 5.0, int64(3e9))
	f.Fuzz(func(t *testing.T, from, to float64, ns int64) {
		if !(from >= 0 && from < 1e5 && to >= 0 && to < 1e5) || ns <= 0 || ns > int64(20*time.Second) {
			t.Skip()
		}
		d := time.Duration(ns)
		s := NewSchedule([]Phase{{Duration: d, From: from, To: to}})
		if s.Slots() > 3e6 {
			t.Skip()
		}
		prev := time.Duration(-1)
		for i := int64(0); i < s.Slots(); i++ {
			at := s.At(i)
			if at < prev || at >= d || at < 0 {
				t.Fatalf("slot %d at %v (prev %v, duration %v)", i, at, prev, d)
			}
			prev = at
		}
	})
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
