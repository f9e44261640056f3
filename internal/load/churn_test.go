package load

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestDeparturesSpreadChurnOverThePhaseAndStormAtItsStart(t *testing.T) {
	specs := []PhaseSpec{
		{Phase: Phase{Name: "calm", Duration: 10 * time.Second, From: 1, To: 1}},
		{Phase: Phase{Name: "churn", Duration: time.Minute, From: 1, To: 1}, Churn: Churn{PerMinute: 0.1, Offline: 2 * time.Second}},
		{Phase: Phase{Name: "storm", Duration: 10 * time.Second, From: 1, To: 1}, Storm: Storm{Share: 0.5, Graceful: true, Offline: time.Second}},
	}
	phases := make([]Phase, len(specs))
	for i, s := range specs {
		phases[i] = s.Phase
	}
	sched, err := NewSchedule(phases)
	if err != nil {
		t.Fatal(err)
	}
	plan := sched.departures(specs, 20)
	var churn, storm []departure
	for _, d := range plan {
		if d.phase == 1 {
			churn = append(churn, d)
		} else {
			storm = append(storm, d)
		}
	}
	// 10%/min of 20 things over a minute: two, at a quarter and three
	// quarters of the phase.
	if len(churn) != 2 || churn[0].at != 25*time.Second || churn[1].at != 55*time.Second || churn[0].graceful || churn[0].offline != 2*time.Second {
		t.Errorf("churn departures %+v", churn)
	}
	if len(storm) != 10 {
		t.Fatalf("%d storm departures, want half of 20", len(storm))
	}
	seen := map[int]bool{}
	for _, d := range storm {
		if d.at != 70*time.Second || !d.graceful || seen[d.thing] {
			t.Errorf("storm departure %+v: want distinct things, all at the phase's start", d)
		}
		seen[d.thing] = true
	}
	again := sched.departures(specs, 20)
	if fmt.Sprint(again) != fmt.Sprint(plan) {
		t.Error("two layouts of the same schedule differ: a run would not repeat")
	}
}

func TestProtocolMixSpreadsThingsEvenly(t *testing.T) {
	got := ProtocolMix{MQTT5: 70, MQTT311: 30}.assign(10)
	var b strings.Builder
	for _, p := range got {
		b.WriteString(map[Protocol]string{MQTT5: "5", MQTT311: "3"}[p])
	}
	if b.String() != "5535535535" && strings.Count(b.String(), "3") != 3 {
		t.Errorf("assignment %s: want 3 of 10 on MQTT 3.1.1, spread", b.String())
	}
	for n := 0; n < 200; n += 7 {
		c := ProtocolMix{MQTT5: 2, MQTT311: 1}.Things(n)
		if c[MQTT5]+c[MQTT311] != n || c[MQTT311] < n/3 || c[MQTT311] > n/3+1 {
			t.Errorf("%d things split %v, want a third on MQTT 3.1.1", n, c)
		}
	}
	if c := (ProtocolMix{}).Things(5); c[MQTT5] != 5 {
		t.Errorf("the zero mix split %v, want all MQTT 5", c)
	}
}

func TestUngracefulDepartureAbandonsWhatIsInFlightAndReturnsAfterItsAbsence(t *testing.T) {
	b := newBench(t, 1, true, Config{})
	th := b.w.things[0]
	b.slot(0)
	old := b.conn()
	b.w.depart(th, departure{thing: 0, offline: 2 * time.Second})
	b.slot(1) // away: offline, not skipped
	rep := b.report()
	if rep.Counters["update.abandoned"] != 1 || rep.Counters["churn.departures"] != 1 || rep.Counters["schedule.offline"] != 1 || rep.Counters["schedule.skipped"] != 0 {
		t.Errorf("abandoned %d, departures %d, offline %d, skipped %d; want 1, 1, 1, 0", rep.Counters["update.abandoned"],
			rep.Counters["churn.departures"], rep.Counters["schedule.offline"], rep.Counters["schedule.skipped"])
	}
	if !old.dropped {
		t.Error("an ungraceful departure sent DISCONNECT; want the socket dropped")
	}
	if rep.Counters["reconnects"] != 0 {
		t.Errorf("reconnects = %d: a departure is not a lost connection", rep.Counters["reconnects"])
	}
	if away := b.clk.waitArmed(t); away != 2*time.Second {
		t.Errorf("the thing waits %v before it comes back, want its 2s away", away)
	}
	b.clk.Advance(2 * time.Second)
	b.redialed()
	if !th.up || b.conn() == old {
		t.Fatal("the thing did not come back on a new connection")
	}
	b.slot(30)
	b.answer(0)
	rep = b.report()
	checkBooks(t, rep)
	if n := rep.Latencies["reconnect"].Count; n != 1 {
		t.Errorf("reconnect timed %d times, want once", n)
	}
}

func TestGracefulDepartureWaitsForItsRequestsInFlight(t *testing.T) {
	b := newBench(t, 1, true, Config{})
	th := b.w.things[0]
	b.slot(0)
	b.w.depart(th, departure{thing: 0, graceful: true, offline: time.Second})
	if !th.up {
		t.Fatal("a graceful departure left with a request in flight")
	}
	b.slot(1) // leaving: sends nothing new
	old := b.conn()
	b.answer(0)
	if th.up || old.dropped || !old.closed {
		t.Errorf("after the last reply: up %v, dropped %v, closed %v; want it gone with DISCONNECT", th.up, old.dropped, old.closed)
	}
	rep := b.report()
	checkBooks(t, rep)
	if rep.Counters["update.abandoned"] != 0 || rep.Latencies["update.accepted"].Count != 1 || rep.Counters["schedule.offline"] != 1 {
		t.Errorf("abandoned %d, accepted %d, offline %d; want 0, 1, 1", rep.Counters["update.abandoned"], rep.Latencies["update.accepted"].Count, rep.Counters["schedule.offline"])
	}
}

func TestPersistentSessionResumesWithoutResubscribingAndTimesTheDeltaItKept(t *testing.T) {
	b := newBench(t, 1, true, Config{Persistent: true, SessionExpiry: time.Hour})
	th := b.w.things[0]
	if s := b.conn().s; s.CleanStart || s.SessionExpiry != time.Hour {
		t.Fatalf("first connect CleanStart %v, expiry %v; want a persistent session of 1h", s.CleanStart, s.SessionExpiry)
	}
	old := b.conn()
	b.w.depart(th, departure{thing: 0, offline: time.Second})
	// Halfway through the absence the application writes desired state.
	b.at(500)
	stamp := b.r.epoch + int64(500*time.Millisecond)
	old.serve(fakeMsg{topic: th.shadows[0].topics[OpUpdate],
		payload: []byte(fmt.Sprintf(`{"state":{"desired":{"%s":%d}},"clientToken":"app-1"}`, DesiredStampField, stamp))})
	b.w.deliver(event{kind: evApp, thing: th.local, app: &appReply{answered: true, accepted: true, version: 1}})
	if b.clk.waitArmed(t) != time.Second {
		t.Fatal("the thing does not wait its time away")
	}
	b.clk.Advance(time.Second)
	b.at(1200)
	b.redialed()
	b.settle() // the kept delta follows the CONNACK
	c := b.conn()
	if !c.present || len(c.subs) != 0 {
		t.Errorf("session present %v, subscribed again to %v; want the session resumed with its subscriptions", c.present, c.subs)
	}
	rep := b.report()
	if rep.Counters["session.resumed"] != 1 || rep.Counters["session.lost"] != 0 {
		t.Errorf("session.resumed %d, session.lost %d; want 1 and 0", rep.Counters["session.resumed"], rep.Counters["session.lost"])
	}
	if rep.Counters["delta.expected"] != 1 || rep.Counters["delta.received"] != 1 {
		t.Errorf("delta expected %d, received %d; want the application's one", rep.Counters["delta.expected"], rep.Counters["delta.received"])
	}
	if rep.Latencies["delta.replayed"].Count != 1 {
		t.Errorf("delta.replayed timed %d deltas, want the one kept in the session", rep.Latencies["delta.replayed"].Count)
	}
	if d := rep.Latencies["delta"]; d.Count != 1 || d.Min < 499e6 {
		t.Errorf("delta latency %+v: want it from the write 500ms into the run, past the thing's return", d)
	}
}

func TestRunWithChurnAndAStormKeepsTheBooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newFakeTransport()
		tr.delay = 30 * time.Millisecond
		cfg := fakeRun(tr, 10, 30, 10*time.Second)
		cfg.Persistent = true
		cfg.Phases[0].Churn = Churn{PerMinute: 1.2, Offline: 500 * time.Millisecond}
		cfg.Phases[1].Storm = Storm{Share: 1, Graceful: true, Offline: 200 * time.Millisecond}
		cfg.Verify = true
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		rep := res.Report
		checkBooks(t, rep)
		if len(rep.Invalid) > 0 {
			t.Errorf("invalid: %v", rep.Invalid)
		}
		deps, skipped := rep.Counters["churn.departures"], rep.Counters["churn.skipped"]
		if deps+skipped != 11 || deps < 8 {
			t.Errorf("%d departures, %d skipped; want the 1 churned and 10 stormed, nearly all made", deps, skipped)
		}
		if rep.Latencies["reconnect"].Count != deps {
			t.Errorf("%d reconnects timed for %d departures", rep.Latencies["reconnect"].Count, deps)
		}
		if rep.Counters["session.resumed"] != deps {
			t.Errorf("session.resumed %d for %d returns", rep.Counters["session.resumed"], deps)
		}
		if rep.Counters["schedule.offline"] == 0 {
			t.Error("no slot fell while a thing was away")
		}
		if rep.Counters["verify.unanswered"] != 0 {
			t.Errorf("verify.unanswered %d: the read-back did not wait for the things away", rep.Counters["verify.unanswered"])
		}
		if rep.Counters["reconnects"] != 0 {
			t.Errorf("reconnects %d: departures counted as lost connections", rep.Counters["reconnects"])
		}
	})
}
