package mqtt_test

import (
	"context"
	"testing"
	"time"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/internal/load"
)

// The emulator's calibration knobs inject known latency; the harness must
// report what was injected, and must not hide a stall.

func TestRunReportsInjectedLatency(t *testing.T) {
	cfg := testFleet(t, 10, 0, func(c *emulator.Config) {
		c.Limits = emulator.LimitsNone
		c.Latency = "fixed:20ms"
		c.Durability = emulator.DurabilityOff // the injected delay is measured, not the disk
	})
	cfg.Phases = []load.PhaseSpec{constant(4*time.Second, 500)}
	res, err := load.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	acc := res.Report.Latencies["update.accepted"]
	if acc.Count < 1900 {
		c := res.Report.Counters
		t.Fatalf("only %d updates accepted: sent %d, timed out %d, skipped %d, late %d, reconnects %d; invalid %v",
			acc.Count, c["update.sent"], c["update.timeout"], c["schedule.skipped"], c["schedule.late"], c["reconnects"], res.Report.Invalid)
	}
	ms := func(ns float64) float64 { return ns / 1e6 }
	t.Logf("update.accepted p50 %.2fms p99 %.2fms p99.9 %.2fms max %.2fms", ms(acc.P50), ms(acc.P99), ms(acc.P999), ms(acc.Max))
	lag := res.Report.Latencies["schedule.lag"]
	t.Logf("schedule.lag p50 %.3fms p99 %.3fms", ms(lag.P50), ms(lag.P99))
	if raceDetector {
		t.Logf("bounds on p50 (20–21ms), p99.9 (below 30ms) and the send timer's lag (p50 below 0.5ms) not checked under the race detector; .ci/run checks them in a plain build")
	} else {
		// Bounds with room for a shared machine; docs/bench/latency.sh
		// measures the precise figures.
		if p50 := ms(acc.P50); p50 < 20 || p50 > 21 {
			t.Errorf("p50 = %.2fms with 20ms injected, want 20–21ms", p50)
		}
		if p999 := ms(acc.P999); p999 >= 30 {
			t.Errorf("p99.9 = %.2fms with 20ms injected at low load, want below 30ms", p999)
		}
		// The workers wait for their slots on a timerfd, not on the
		// runtime's millisecond-grained timers.
		if p50 := ms(lag.P50); p50 >= 0.5 {
			t.Errorf("schedule.lag p50 = %.3fms, want below 0.5ms: the send timer is late", p50)
		}
	}
	if min := ms(acc.Min); min < 20 {
		t.Errorf("min = %.2fms: a reply came before the injected 20ms", min)
	}
}

func TestRunStallShowsInCorrectedLatencyOnly(t *testing.T) {
	cfg := testFleet(t, 10, 0, func(c *emulator.Config) {
		c.Limits = emulator.LimitsNone
		c.Stall = "3s:1s"
		c.Durability = emulator.DurabilityOff // the stall is measured, not the disk
	})
	// Six seconds hold at least one of the stalls, which begin 3s after the
	// emulator starts. 80 requests/s per thing: a 1s stall holds 10 in flight per thing and
	// holds back the rest, which leave when replies make room. Only the ten
	// sent before the stall wait on the wire; the held-back ones wait in the
	// generator, which the corrected figure counts and the uncorrected not.
	cfg.Phases = []load.PhaseSpec{constant(6*time.Second, 800)}
	res, err := load.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	corr, unc := rep.Latencies["update.accepted"], rep.Latencies["update.accepted.uncorrected"]
	ms := func(ns float64) float64 { return ns / 1e6 }
	t.Logf("corrected p50 %.1fms p90 %.1fms max %.1fms; uncorrected p50 %.1fms p90 %.1fms max %.1fms; deferred %d skipped %d",
		ms(corr.P50), ms(corr.P90), ms(corr.Max), ms(unc.P50), ms(unc.P90), ms(unc.Max),
		rep.Counters["schedule.deferred"], rep.Counters["schedule.skipped"])
	if rep.Counters["schedule.deferred"] == 0 {
		t.Fatal("no slot was held back behind the in-flight cap during the stall")
	}
	if ms(corr.P90) < 200 {
		t.Errorf("corrected p90 = %.1fms: the stall does not show", ms(corr.P90))
	}
	if unc.P90*4 > corr.P90 {
		t.Errorf("uncorrected p90 %.1fms is not well below corrected p90 %.1fms", ms(unc.P90), ms(corr.P90))
	}
	if corr.Max < 800e6 {
		t.Errorf("corrected max = %.1fms, want about the 1s stall", ms(corr.Max))
	}
}
