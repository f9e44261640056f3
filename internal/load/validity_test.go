package load

import (
	"strings"
	"testing"

	"github.com/shadowload/shadowload/metrics"
)

func TestValidityNamesEachBrokenBound(t *testing.T) {
	healthy := map[string]int64{
		"things": 10, "things.connected": 10,
		"update.sent": 1000, "update.timeout": 10, "schedule.slots": 1000, "schedule.skipped": 10, "schedule.late": 50,
		"reconnects": 0, "fanout.docs.expected": 1000, "fanout.docs.received": 999, "violations": 0,
		"verify.read": 10, "verify.lost": 0, "verify.unanswered": 0,
	}
	tests := []struct {
		name   string
		change map[string]int64
		want   string
	}{
		{"healthy run at every bound", nil, ""},
		{"target stopped answering", map[string]int64{"update.timeout": 11}, "the target stopped answering: requests timed out: 11 of 1000 (1.1%, bound 1%)"},
		{"read-backs unanswered", map[string]int64{"verify.read": 8, "verify.unanswered": 2}, "the target did not answer read-backs: 2 of 10 (20%, bound 1%)"},
		{"connections lost", map[string]int64{"reconnects": 1}, "the target dropped connections: connections lost: 1 of 10 (10%, bound 1%)"},
		{"slots skipped", map[string]int64{"schedule.skipped": 11}, "slots skipped: 11 of 1000 (1.1%, bound 1%)"},
		{"generator behind", map[string]int64{"schedule.late": 51}, "the generator fell behind its schedule: 51 of 1000 slots (5.1%) started late (bound 5%)"},
		{"deliveries lost", map[string]int64{"fanout.docs.received": 998}, `observer group "docs" lost deliveries: 2 of 1000 (0.2%, bound 0.1%)`},
		{"version order broken", map[string]int64{"violations": 1}, "the target broke version order: 1 accepted updates did not get rising versions (bound 0)"},
		{"writes lost", map[string]int64{"verify.lost": 3}, "the target lost accepted writes: 3 no longer there when read back (bound 0)"},
		{"fleet not all connected", map[string]int64{"things.connected": 9}, "only 9 of 10 things connected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := map[string]int64{}
			for k, v := range healthy {
				c[k] = v
			}
			for k, v := range tt.change {
				c[k] = v
			}
			got := DefaultValidity().Check(&metrics.Report{Counters: c})
			switch {
			case tt.want == "" && len(got) != 0:
				t.Errorf("reasons %q for a run within every bound", got)
			case tt.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tt.want)):
				t.Errorf("reasons %q; want exactly one starting %q", got, tt.want)
			}
		})
	}
}

func TestValidityBoundsAreTheScenarios(t *testing.T) {
	rep := &metrics.Report{Counters: map[string]int64{"things": 1, "things.connected": 1, "update.sent": 100, "update.timeout": 50, "violations": 2}}
	lenient := Validity{Timeouts: 0.5, Violations: 2}
	if got := lenient.Check(rep); len(got) != 0 {
		t.Errorf("reasons %q within lenient bounds", got)
	}
	strict := Validity{}
	if got := strict.Check(rep); len(got) != 2 {
		t.Errorf("reasons %q; want time-outs and violations past zero bounds", got)
	}
}
