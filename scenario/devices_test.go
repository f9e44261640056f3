package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/shadowload/shadowload/internal/load"
)

func TestParseProtocolMix(t *testing.T) {
	tests := []struct {
		in   string
		want load.ProtocolMix
		err  string
	}{
		{"mqtt5", load.ProtocolMix{load.MQTT5: 1}, ""},
		{"mqtt311", load.ProtocolMix{load.MQTT311: 1}, ""},
		{"mqtt5:70,mqtt311:30", load.ProtocolMix{load.MQTT5: 70, load.MQTT311: 30}, ""},
		{"mqtt311:1, mqtt5:3", load.ProtocolMix{load.MQTT5: 3, load.MQTT311: 1}, ""},
		{"mqtt3", load.ProtocolMix{}, `"mqtt3": want mqtt5 or mqtt311`},
		{"mqtt5:lots", load.ProtocolMix{}, `weight "lots"`},
		{"mqtt5:0,mqtt311:0", load.ProtocolMix{}, "every weight is zero"},
		{"mqtt5,mqtt5", load.ProtocolMix{}, "mqtt5 given twice"},
	}
	for _, tt := range tests {
		got, err := ParseProtocolMix(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseProtocolMix(%q) error %v, want one saying %q", tt.in, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("ParseProtocolMix(%q): %v", tt.in, err)
		case tt.err == "" && got != tt.want:
			t.Errorf("ParseProtocolMix(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if tt.err == "" {
			if back, err := ParseProtocolMix(got.String()); err != nil || back.Things(1000) != got.Things(1000) {
				t.Errorf("%q: String %q does not read back (%v)", tt.in, got.String(), err)
			}
		}
	}
}

func TestParseChurnRate(t *testing.T) {
	for in, want := range map[string]float64{"5%/min": 0.05, "5%/m": 0.05, "1%/s": 0.6, "30%/h": 0.005, "0%/min": 0} {
		got, err := ParseChurnRate(in)
		if err != nil || got < want*0.999999 || got > want*1.000001 {
			t.Errorf("ParseChurnRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"5%", "5/min", "120%/min", "-1%/min", "5%/day"} {
		if _, err := ParseChurnRate(in); err == nil {
			t.Errorf("ParseChurnRate(%q) took it", in)
		}
	}
}

func TestParseDeviceBehaviours(t *testing.T) {
	src := `name: devices
fleet:
  things: 50
  protocol: mqtt311
  session: persistent
  keep_alive: 30s
observers:
  - name: app
    filters: ["$aws/things/+/shadow/update/accepted", "$aws/things/+/shadow/update/rejected"]
    offline_writes: true
phases:
  - name: churn
    duration: 1m
    rate: 10/s
    churn: 10%/min
  - name: storm
    duration: 30s
    rate: 10/s
    storm: {share: 50%, mode: graceful, offline: 0s}
`
	s, err := Parse("d.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if s.Fleet.Protocol != (load.ProtocolMix{load.MQTT311: 1}) || s.Fleet.Session != SessionPersistent || s.Fleet.SessionExpiry != time.Hour {
		t.Errorf("fleet %+v", s.Fleet)
	}
	if c := s.Phases[0].Churn; c != (load.Churn{PerMinute: 0.1, Offline: DefaultOffline}) {
		t.Errorf("churn %+v: want 10%%/min, ungraceful, the default time away", c)
	}
	if st := s.Phases[1].Storm; st != (load.Storm{Share: 0.5, Graceful: true}) {
		t.Errorf("storm %+v", st)
	}
	if !s.Observers[0].OfflineWrites {
		t.Error("offline_writes lost")
	}
}

func TestParseDeviceBehaviourErrors(t *testing.T) {
	base := "name: x\nphases: [{duration: 1s, rate: 1/s}]\n"
	tests := []struct {
		name, src, want string
	}{
		{"unknown protocol", base + "fleet: {protocol: mqtt3}\n", `fleet.protocol: "mqtt3": want one of mqtt5, mqtt311; did you mean "mqtt5"?`},
		{"zero protocol weights", base + "fleet: {protocol: {mqtt5: 0}}\n", "fleet.protocol: all weights are zero"},
		{"expiry of a clean session", base + "fleet: {session_expiry: 2h}\n", "fleet.session_expiry: only for persistent sessions; fleet.session is clean"},
		{"expiry above AWS's most", base + "fleet: {session: persistent, session_expiry: 200h}\n", `fleet.session_expiry: "200h": want at most 168h0m0s`},
		{"churn without a rate", "name: x\nphases: [{duration: 1s, rate: 1/s, churn: {mode: graceful}}]\n", "phases[0].churn.rate: missing"},
		{"churn rate without a time unit", "name: x\nphases: [{duration: 1s, rate: 1/s, churn: 5%}]\n", `phases[0].churn: "5%": want a share of the fleet per time`},
		{"storm above all the fleet", "name: x\nphases: [{duration: 1s, rate: 1/s, storm: 150%}]\n", `phases[0].storm: "150%": want a percentage from 0% to 100%`},
		{"unknown mode", "name: x\nphases: [{duration: 1s, rate: 1/s, storm: {share: 10%, mode: polite}}]\n", `phases[0].storm.mode: "polite": want one of graceful, ungraceful`},
		{"offline writer that hears no answer", base + "observers:\n  - {name: app, filters: [\"$aws/things/+/shadow/update/documents\"], offline_writes: true}\n",
			`observers[0].filters: observer "app" writes offline but no filter receives $aws/things/sim-00000/shadow/update/accepted`},
		{"two offline writers", base + "observers:\n  - {name: a, filters: [\"#\"], offline_writes: true}\n  - {name: b, filters: [\"#\"], offline_writes: true}\n",
			"observers: observers a, b all write offline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v; want one saying %q", err, tt.want)
			}
		})
	}
}

func TestPlanSaysWhatDevicesChange(t *testing.T) {
	src := `name: devices
fleet:
  things: 100
  connect_rate: 10/s
  protocol: {mqtt5: 70, mqtt311: 30}
observers:
  - {name: app, filters: ["$aws/things/+/shadow/update/+"], offline_writes: true}
phases:
  - name: churn
    duration: 1m
    rate: 10/s
    churn: {rate: 6%/min, offline: 2s}
  - name: storm
    duration: 5s
    rate: 10/s
    storm: 100%
`
	s, err := Parse("d.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	p := s.Plan()
	if p.MQTT5 != 70 || p.MQTT311 != 30 {
		t.Errorf("plan splits %d/%d; want 70 MQTT 5, 30 MQTT 3.1.1", p.MQTT5, p.MQTT311)
	}
	if got := s.Fleet.Protocol.Things(100); got[load.MQTT311] != p.MQTT311 {
		t.Errorf("the run gives %d things MQTT 3.1.1, the plan %d", got[load.MQTT311], p.MQTT311)
	}
	if ph := p.Phases[0]; ph.Departures != 6 || ph.Reconnects != 0.1 {
		t.Errorf("churn phase: %d departures at %v reconnects/s; want 6 at 0.1/s", ph.Departures, ph.Reconnects)
	}
	if ph := p.Phases[1]; ph.Departures != 100 || ph.Reconnects != 10 {
		t.Errorf("storm phase: %d departures at %v reconnects/s; want 100 at the 10/s connect rate", ph.Departures, ph.Reconnects)
	}
	all := strings.Join(append(p.Notes, p.Warnings...), "\n")
	for _, want := range []string{
		"30 of the 100 things speak MQTT 3.1.1, which has no reason codes",
		`observer "app" writes to things while they are away, but fleet.session is clean`,
		"the storm's 100 things need 15s to come back at connect_rate 10/s, longer than the phase's 5s",
		"end as abandoned",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	var b strings.Builder
	if err := p.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "devices  70 MQTT 5, 30 MQTT 3.1.1; clean sessions") {
		t.Errorf("plan text lacks the devices line:\n%s", b.String())
	}
}
