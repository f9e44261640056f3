package load

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestScheduleConstantRateSpacesSlotsEvenly(t *testing.T) {
	s := mustSchedule(t, []Phase{{Duration: 2 * time.Second, From: 100, To: 100}})
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
			s := mustSchedule(t, []Phase{{Duration: tt.dur, From: tt.from, To: tt.to}})
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
	s := mustSchedule(t, []Phase{{Duration: 10 * time.Second, From: 0, To: 1000}})
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
	s := mustSchedule(t, []Phase{
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
		s := mustSchedule(t, []Phase{{Duration: d, From: from, To: to}})
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

// FuzzScheduleBoundsAbsurdPhases feeds the schedule any rates and durations,
// absurd ones included: it refuses them or lays out at most MaxSlots slots
// whose times rise within the schedule, and never hangs or overflows.
func FuzzScheduleBoundsAbsurdPhases(f *testing.F) {
	f.Add(1e23, 1e23, int64(time.Minute), 0.0, int64(0))
	f.Add(0.0, 1e-300, int64(time.Hour), 5.0, int64(time.Second))
	f.Add(math.Inf(1), 0.0, int64(time.Second), 0.0, int64(0))
	f.Add(math.NaN(), 1.0, int64(time.Second), 1.0, int64(time.Second))
	f.Add(1e6, 1e6, int64(math.MaxInt64), 1.0, int64(1))
	f.Add(-1.0, 5.0, int64(time.Second), 1.0, int64(time.Second))
	f.Add(1e9, 0.0, int64(30*24*time.Hour), 1e9, int64(30*24*time.Hour))
	f.Fuzz(func(t *testing.T, from, to float64, ns int64, rate2 float64, ns2 int64) {
		s, err := NewSchedule([]Phase{{Name: "a", Duration: time.Duration(ns), From: from, To: to}, {Name: "b", Duration: time.Duration(ns2), From: rate2, To: rate2}})
		if err != nil {
			return
		}
		n := s.Slots()
		if n < 0 || n > MaxSlots {
			t.Fatalf("%d slots, want 0 to %d", n, int64(MaxSlots))
		}
		if n == 0 {
			return
		}
		total := s.Duration()
		prev := time.Duration(-1)
		samples := []int64{0, 1, n / 3, n / 2, n - 2, n - 1}
		slices.Sort(samples)
		for _, i := range slices.Compact(samples) {
			if i < 0 || i >= n {
				continue
			}
			at := s.At(i)
			if at < prev || at < 0 || at >= total {
				t.Fatalf("slot %d of %d at %v (previous sample %v, schedule %v)", i, n, at, prev, total)
			}
			prev = at
		}
	})
}

// mustSchedule lays out phases that are known to be valid.
func mustSchedule(t testing.TB, phases []Phase) *Schedule {
	t.Helper()
	s, err := NewSchedule(phases)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
