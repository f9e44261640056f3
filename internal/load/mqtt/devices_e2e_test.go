package mqtt_test

import (
	"context"
	"testing"
	"time"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/internal/load"
	"github.com/shadowload/shadowload/metrics"
)

// books checks that every request sent ended once, as accepted, rejected,
// timed out or abandoned, and that every slot was sent, skipped or fell
// while its thing was away.
func books(t *testing.T, rep *metrics.Report) {
	t.Helper()
	var sent int64
	for _, op := range []string{"update", "get", "delete"} {
		n := rep.Counters[op+".sent"]
		ended := rep.Latencies[op+".accepted"].Count + rep.Latencies[op+".rejected"].Count + rep.Counters[op+".timeout"] + rep.Counters[op+".abandoned"]
		if n != ended {
			t.Errorf("%s: sent %d, ended %d (accepted %d, rejected %d, timed out %d, abandoned %d)", op, n, ended, rep.Latencies[op+".accepted"].Count,
				rep.Latencies[op+".rejected"].Count, rep.Counters[op+".timeout"], rep.Counters[op+".abandoned"])
		}
		sent += n
	}
	c := rep.Counters
	if got := sent - c["delta.responses"] + c["schedule.skipped"] + c["schedule.offline"]; got != c["schedule.slots"] {
		t.Errorf("sent %d − delta answers %d + skipped %d + offline %d = %d, want the %d slots", sent, c["delta.responses"], c["schedule.skipped"], c["schedule.offline"], got, c["schedule.slots"])
	}
}

func TestRunMixedFleetSpeaksBothProtocolsToObservers(t *testing.T) {
	cfg := testFleet(t, 20, 1, func(c *emulator.Config) { c.Limits = emulator.LimitsNone })
	cfg.QoS = 1
	cfg.Protocols = load.ProtocolMix{load.MQTT5: 1, load.MQTT311: 1}
	cfg.Phases = []load.PhaseSpec{constant(2*time.Second, 100)}
	cfg.Phases[0].Mix = load.Mix{load.OpUpdate: 8, load.OpGet: 1, load.OpDelete: 1}
	cfg.Verify = true
	res, err := load.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	books(t, rep)
	if len(rep.Invalid) > 0 {
		t.Errorf("invalid: %v", rep.Invalid)
	}
	c := rep.Counters
	if c["things.mqtt5"] != 10 || c["things.mqtt311"] != 10 || res.Connected != 20 {
		t.Fatalf("things mqtt5 %d, mqtt311 %d, connected %d; want 10, 10, 20", c["things.mqtt5"], c["things.mqtt311"], res.Connected)
	}
	for _, p := range []string{"mqtt5", "mqtt311"} {
		sent, acc := c["requests."+p+".sent"], c["requests."+p+".accepted"]
		if sent < 50 || acc+c["requests."+p+".rejected"]+c["requests."+p+".timeout"] != sent {
			t.Errorf("%s: sent %d, accepted %d, rejected %d, timed out %d", p, sent, acc, c["requests."+p+".rejected"], c["requests."+p+".timeout"])
		}
		if rep.Latencies["update.accepted."+p].Count == 0 {
			t.Errorf("no update.accepted.%s latency", p)
		}
	}
	if exp, got := c["fanout.documents.expected"], c["fanout.documents.received"]; exp == 0 || exp != got {
		t.Errorf("fan-out to the observer: expected %d, received %d", exp, got)
	}
	if c["verify.read"] != 20 || c["verify.lost"] != 0 {
		t.Errorf("read back %d shadows, %d writes lost; want 20 and 0", c["verify.read"], c["verify.lost"])
	}
}

func TestRunPersistentSessionsGetTheDeltaWrittenWhileAway(t *testing.T) {
	cfg := testFleet(t, 6, 1, func(c *emulator.Config) { c.Limits = emulator.LimitsNone })
	cfg.QoS = 1
	cfg.Protocols = load.ProtocolMix{load.MQTT5: 1, load.MQTT311: 1}
	cfg.Persistent = true
	cfg.Observers[0].Name = "app"
	cfg.Observers[0].Filters = []string{"$aws/things/+/shadow/update/accepted", "$aws/things/+/shadow/update/rejected"}
	cfg.Observers[0].OfflineWrites = true
	storm := constant(2*time.Second, 30)
	storm.Name = "storm"
	storm.Storm = load.Storm{Share: 1, Offline: time.Second}
	after := constant(time.Second, 30)
	after.Name = "after"
	cfg.Phases = []load.PhaseSpec{constant(time.Second, 30), storm, after}
	res, err := load.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	books(t, rep)
	if len(rep.Invalid) > 0 {
		t.Errorf("invalid: %v", rep.Invalid)
	}
	c := rep.Counters
	if c["churn.departures"] != 6 || c["session.resumed"] != 6 || c["session.lost"] != 0 {
		t.Errorf("departures %d, sessions resumed %d, lost %d; want 6, 6, 0", c["churn.departures"], c["session.resumed"], c["session.lost"])
	}
	if c["offline.update.sent"] != 6 || rep.Latencies["offline.update.accepted"].Count != 6 {
		t.Errorf("the application wrote %d times, %d accepted; want one accepted write per absence", c["offline.update.sent"], rep.Latencies["offline.update.accepted"].Count)
	}
	// Each write leaves desired and reported apart until the device reports
	// it: later updates repeat the delta, counted but timed once.
	if c["delta.expected"] != 6 || c["delta.received"] < 6 || rep.Latencies["delta"].Count != 6 {
		t.Errorf("deltas expected %d, received %d, timed %d: every thing's session should keep the delta of the write made while it was away",
			c["delta.expected"], c["delta.received"], rep.Latencies["delta"].Count)
	}
	replayed := rep.Latencies["delta.replayed"]
	if replayed.Count != 6 {
		t.Errorf("delta.replayed timed %d deltas, want 6", replayed.Count)
	}
	if d := rep.Latencies["delta"]; d.Min < 400e6 {
		t.Errorf("delta min %.1fms: a delta written halfway through a 1s absence cannot reach the device sooner than its return", d.Min/1e6)
	}
	if n := rep.Latencies["reconnect"].Count; n != 6 {
		t.Errorf("reconnect timed %d times, want 6", n)
	}
	t.Logf("delta.replayed p50 %.1fms max %.1fms; reconnect p50 %.1fms", replayed.P50/1e6, replayed.Max/1e6, rep.Latencies["reconnect"].P50/1e6)
}

func TestRunUngracefulChurnKeepsTheBooks(t *testing.T) {
	cfg := testFleet(t, 10, 0, func(c *emulator.Config) {
		c.Limits = emulator.LimitsNone
		c.Latency = "fixed:100ms" // requests are in flight when things drop
	})
	cfg.QoS = 1
	cfg.Protocols = load.ProtocolMix{load.MQTT5: 1, load.MQTT311: 1}
	p := constant(3*time.Second, 100)
	p.Churn = load.Churn{PerMinute: 12, Offline: 300 * time.Millisecond}
	cfg.Phases = []load.PhaseSpec{p}
	res, err := load.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	books(t, rep)
	c := rep.Counters
	if c["churn.departures"] < 3 {
		t.Fatalf("%d departures of the 6 planned", c["churn.departures"])
	}
	if c["update.abandoned"] == 0 {
		t.Error("no request was in flight at a departure; the test proves nothing")
	}
	if c["reconnects"] != 0 || c["update.timeout"] != 0 {
		t.Errorf("reconnects %d, time-outs %d: departures counted as the target's failures", c["reconnects"], c["update.timeout"])
	}
	if c["schedule.offline"] == 0 || rep.Latencies["reconnect"].Count != c["churn.departures"] {
		t.Errorf("offline slots %d, reconnects timed %d for %d departures", c["schedule.offline"], rep.Latencies["reconnect"].Count, c["churn.departures"])
	}
	if len(rep.Invalid) > 0 {
		t.Errorf("invalid: %v", rep.Invalid)
	}
}
