package load

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shadowload/shadowload/metrics"
)

// Validity bounds what a run may suffer and still be judged by its
// thresholds. Past any bound the run is invalid: its numbers describe a
// target that stopped answering, a generator that could not keep its
// schedule, or books that do not close, and no threshold may pass over it.
// Shares are fractions (0.01 is 1%). A report records the bounds it was
// judged by in this JSON form (Config "validity"); merge reads them back.
type Validity struct {
	// Timeouts bounds the share of sent requests, and of read-backs, that
	// got no answer in time.
	Timeouts float64 `json:"timeouts"`
	// LostConnections bounds the connections lost during the run, as a
	// share of the fleet.
	LostConnections float64 `json:"lost_connections"`
	// Skipped bounds the share of the schedule's slots never sent.
	Skipped float64 `json:"skipped"`
	// Late bounds the share of slots the generator started later than its
	// late bound: past it the generator, not the target, set the pace.
	Late float64 `json:"late"`
	// FanoutLoss bounds the share of the deliveries observers should have
	// received that they did not.
	FanoutLoss float64 `json:"fanout_loss"`
	// Violations bounds the accepted updates whose versions did not rise in
	// the order one connection sent them.
	Violations int64 `json:"violations"`
	// LostWrites bounds the accepted writes a read-back no longer found.
	LostWrites int64 `json:"lost_writes"`
}

// DefaultValidity holds the documented defaults: 1% time-outs, 1% of the
// fleet's connections lost, 1% of slots skipped, 5% of slots late, 0.1% of
// observer deliveries lost, no version violation and no lost write.
func DefaultValidity() Validity {
	return Validity{Timeouts: 0.01, LostConnections: 0.01, Skipped: 0.01, Late: 0.05, FanoutLoss: 0.001}
}

// Check lists why the run in rep breaks the bounds, one reason per bound,
// each with the numbers behind it; nil means none is broken.
func (v Validity) Check(rep *metrics.Report) []string {
	var out []string
	c := rep.Counters
	share := func(what string, n, of int64, bound float64) {
		if of > 0 && float64(n)/float64(of) > bound {
			out = append(out, fmt.Sprintf("%s: %d of %d (%s, bound %s)", what, n, of, pct(float64(n)/float64(of)), pct(bound)))
		}
	}
	if things, connected := c["things"], c["things.connected"]; connected < things {
		out = append(out, fmt.Sprintf("only %d of %d things connected: the run was not the load it planned", connected, things))
	}
	var sent, timedOut int64
	for op := Op(0); op < numOps; op++ {
		sent += c[op.String()+".sent"]
		timedOut += c[op.String()+".timeout"]
	}
	share("the target stopped answering: requests timed out", timedOut, sent, v.Timeouts)
	reads := c["verify.read"] + c["verify.unanswered"] + c["verify.denied"]
	share("the target did not answer read-backs", c["verify.unanswered"], reads, v.Timeouts)
	share("the target dropped connections: connections lost", c["reconnects"], c["things"], v.LostConnections)
	share("slots skipped", c["schedule.skipped"], c["schedule.slots"], v.Skipped)
	if late, slots := c["schedule.late"], c["schedule.slots"]; slots > 0 && float64(late)/float64(slots) > v.Late {
		out = append(out, fmt.Sprintf("the generator fell behind its schedule: %d of %d slots (%s) started late (bound %s)",
			late, slots, pct(float64(late)/float64(slots)), pct(v.Late)))
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range c {
			if strings.HasPrefix(k, "fanout.") && strings.HasSuffix(k, ".expected") && strings.Count(k, ".") == 2 {
				if !yield(k) {
					return
				}
			}
		}
	}) {
		group := strings.TrimSuffix(strings.TrimPrefix(name, "fanout."), ".expected")
		exp, got := c[name], c["fanout."+group+".received"]
		share(fmt.Sprintf("observer group %q lost deliveries", group), max(exp-got, 0), exp, v.FanoutLoss)
	}
	if n := c["violations"]; n > v.Violations {
		out = append(out, fmt.Sprintf("the target broke version order: %d accepted updates did not get rising versions (bound %d)", n, v.Violations))
	}
	if n := c["verify.lost"]; n > v.LostWrites {
		out = append(out, fmt.Sprintf("the target lost accepted writes: %d no longer there when read back (bound %d)", n, v.LostWrites))
	}
	return out
}

// pct writes a share as a percentage: 0.0125 as 1.25%.
func pct(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", v*100), "0"), ".") + "%"
}
