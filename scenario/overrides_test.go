package scenario

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shadowload/shadowload/internal/load"
)

const overrideSrc = `name: o
target:
  emulator: {limits: aws}
phases:
  - {name: warm, duration: 10s, ramp: {from: 0/s, to: 50/s}}
  - {name: load, duration: 30s, rate: 100/s}
`

func TestApplyOverrides(t *testing.T) {
	tests := []struct {
		name  string
		o     Overrides
		check func(t *testing.T, s *Scenario)
	}{
		{"zero changes nothing", Overrides{}, func(t *testing.T, s *Scenario) {
			orig, _ := Parse("o.yaml", []byte(overrideSrc))
			if !reflect.DeepEqual(s, orig) {
				t.Errorf("got %+v; want the file unchanged", s)
			}
		}},
		{"endpoint and bundles", Overrides{Endpoint: "a.example.com:443", Bundles: "/b"}, func(t *testing.T, s *Scenario) {
			want := Target{Endpoint: "a.example.com:443", Bundles: "/b", HashMatchesDollar: true}
			if s.Target != want {
				t.Errorf("target %+v; want %+v (emulator settings dropped)", s.Target, want)
			}
		}},
		{"things", Overrides{Things: 5000}, func(t *testing.T, s *Scenario) {
			if s.Fleet.Things != 5000 {
				t.Errorf("things %d; want 5000", s.Fleet.Things)
			}
		}},
		{"rate scales to the peak", Overrides{Rate: 400}, func(t *testing.T, s *Scenario) {
			if p := s.Phases; p[0].From != 0 || p[0].To != 200 || p[1].From != 400 || p[1].To != 400 {
				t.Errorf("phases %+v; want warm 0→200/s and load 400/s", p)
			}
		}},
		{"protocol", Overrides{Protocol: &load.ProtocolMix{load.MQTT5: 1, load.MQTT311: 1}}, func(t *testing.T, s *Scenario) {
			if s.Fleet.Protocol != (load.ProtocolMix{load.MQTT5: 1, load.MQTT311: 1}) {
				t.Errorf("protocol %v; want half MQTT 3.1.1", s.Fleet.Protocol)
			}
		}},
		{"duration scales every phase", Overrides{Duration: 2 * time.Minute}, func(t *testing.T, s *Scenario) {
			if p := s.Phases; p[0].Duration != 30*time.Second || p[1].Duration != 90*time.Second {
				t.Errorf("durations %v, %v; want 30s and 1m30s", p[0].Duration, p[1].Duration)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("o.yaml", []byte(overrideSrc))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Apply(tt.o); err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

func TestApplyDurationKeepsTheTotalExact(t *testing.T) {
	s, err := Parse("o.yaml", []byte("name: o\nphases:\n  - {duration: 1s, rate: 1/s}\n  - {duration: 1s, rate: 1/s}\n  - {duration: 1s, rate: 1/s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(Overrides{Duration: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	var total time.Duration
	for _, p := range s.Phases {
		total += p.Duration
	}
	if total != 10*time.Second {
		t.Errorf("phases add up to %v; want 10s", total)
	}
}

func TestApplyRejectsBadOverridesAndKeepsTheScenario(t *testing.T) {
	tests := []struct {
		name  string
		extra string
		o     Overrides
		want  string
	}{
		{"real endpoint without bundles", "", Overrides{Endpoint: "a.example.com:8883"},
			`command line: bundles: missing; endpoint "a.example.com:8883" needs the certificate bundles written by shadowload provision`},
		{"bad endpoint", "", Overrides{Endpoint: "nowhere", Bundles: "b"},
			`command line: endpoint: "nowhere": want "embedded" or host:port such as xxxx-ats.iot.us-east-1.amazonaws.com:8883`},
		{"negative things", "", Overrides{Things: -1}, "command line: things: -1: want 1 or more"},
		{"negative rate", "", Overrides{Rate: -2}, "command line: rate: -2/s: want a rate from 0/s to 1000000/s"},
		{"negative duration", "", Overrides{Duration: -time.Second}, "command line: duration: -1s: want a duration above zero and at most 720h0m0s"},
		{"name too long for the fleet", "fleet: {name: \"" + strings.Repeat("n", 123) + "{i}\"}\n", Overrides{Things: 1_000_000},
			"command line: things: fleet.name \"" + strings.Repeat("n", 123) + "{i}\": thing 999999: thing name \"" + strings.Repeat("n", 40) + "\": want 1–128 characters of [a-zA-Z0-9:_-], got 129"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := overrideSrc + tt.extra
			s, err := Parse("o.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			before, _ := Parse("o.yaml", []byte(src))
			err = s.Apply(tt.o)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v; want %q", err, tt.want)
			}
			if !reflect.DeepEqual(s, before) {
				t.Errorf("scenario changed on error")
			}
		})
	}
}
