package scenario

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shadowload/shadowload/internal/latency"
	"github.com/shadowload/shadowload/internal/load"
)

func TestParseFullFileKeepsEveryValue(t *testing.T) {
	s, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Scenario{
		Name:        "quickstart",
		Description: "A small fleet reporting telemetry to the embedded emulator.",
		Target: Target{Endpoint: "embedded", Emulator: Emulator{
			Limits: LimitsAWS, Latency: mustLatency(t, "fixed:20ms"),
		}},
		Fleet: Fleet{Things: 100, Name: "sim-{i:05}", ConnectRate: 200, KeepAlive: time.Minute,
			Protocol: load.ProtocolMix{load.MQTT5: 70, load.MQTT311: 30}, Session: SessionPersistent, SessionExpiry: 2 * time.Hour,
			Shadows: []string{"classic", "config"}},
		Observers: []Observer{
			{Name: "documents", Count: 2, Filters: []string{"$aws/things/+/shadow/update/documents"}},
			{Name: "app", Count: 1, Filters: []string{"$aws/things/+/shadow/update/+"}, OfflineWrites: true},
		},
		Phases: []Phase{
			{Name: "warmup", Duration: 10 * time.Second, From: 10, To: 100, Mix: Mix{Update: 8, Get: 1}, Write: SectionReported,
				Storm: load.Storm{Share: 0.1, Offline: DefaultOffline}},
			{Name: "load", Duration: 20 * time.Second, From: 200, To: 200, Mix: Mix{Update: 1}, Write: SectionDesired, RespondToDelta: true,
				Churn: load.Churn{PerMinute: 0.05, Graceful: true, Offline: 3 * time.Second}},
		},
		Payload: Payload{QoS: 0, Optimistic: true, Fields: []Field{
			{Name: "temperature", Kind: FieldFloat, Min: 18, Max: 25, Decimals: 1},
			{Name: "seq", Kind: FieldCounter, Step: 1},
			{Name: "level", Kind: FieldWalk, Start: 50, Step: 1, Min: 0, Max: 100},
			{Name: "mode", Kind: FieldChoice, Choices: []string{`"eco"`, `"comfort"`, `"boost"`}},
			{Name: "blob", Kind: FieldString, Bytes: 64},
			{Name: "on", Kind: FieldBool},
			{Name: "count", Kind: FieldInt, Min: 0, Max: 10},
		}},
		Timeout:  5 * time.Second,
		InFlight: 8,
		Thresholds: []ThresholdSpec{
			{Metric: "update.accepted", Expr: "p(99)<250ms", Line: 53, Column: 21},
			{Metric: "update.accepted", Expr: "p(99.9)<1s", Line: 53, Column: 36},
			{Metric: "update.rejected", Expr: "rate<0.1%", Line: 54, Column: 21},
			{Metric: "update.sent", Expr: "rate>=90/s", Line: 55, Column: 16},
			{Metric: "update.sent{phase:load}", Expr: "achieved>=99%", Line: 56, Column: 29},
			{Metric: "update.sent{phase:load}", Expr: "count>=10", Line: 56, Column: 58, AbortOnFail: true, DelayAbortEval: 5 * time.Second},
		},
		Validity: load.Validity{Timeouts: 0.02, LostConnections: 0, Skipped: 0.005, Late: 0.1, FanoutLoss: 0.01, Violations: 3, LostWrites: 1},
		Verify:   false,
		Source:   "testdata/full.yaml",
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", s, want)
	}
}

func TestParseFillsEveryDefault(t *testing.T) {
	s, err := Parse("min.yaml", []byte("name: smoke\nphases:\n  - duration: 30s\n    rate: 50/s\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Scenario{
		Name:   "smoke",
		Target: Target{Endpoint: "embedded", HashMatchesDollar: true, Emulator: Emulator{Limits: LimitsDefault}},
		Fleet: Fleet{Things: 10, Name: "sim-{i:05}", ConnectRate: 100, KeepAlive: 60 * time.Second,
			SessionExpiry: DefaultSessionExpiry, Shadows: []string{"classic"}},
		Phases: []Phase{{Name: "phase-1", Duration: 30 * time.Second, From: 50, To: 50,
			Mix: Mix{Update: 1}, Write: SectionReported}},
		Payload:  Payload{QoS: 1, Fields: []Field{{Name: "seq", Kind: FieldCounter, Step: 1}}},
		Timeout:  10 * time.Second,
		InFlight: 10,
		Validity: load.DefaultValidity(),
		Verify:   true,
		Source:   "min.yaml",
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", s, want)
	}
}

func TestParseFieldDefaults(t *testing.T) {
	src := `name: f
phases: [{duration: 1s, rate: 1/s}]
payload:
  fields:
    a: {float: {}}
    b: {float: {min: 0.25, max: 1.5}}
    c: {float: {decimals: 0}}
    d: {int: }
    e: {counter: {start: 5, step: -1}}
    f: {walk: {}}
    g: {walk: {step: 0.5}}
    h: {string: {}}
    i: {choice: [1, 2.5, true, "x\"y"]}
`
	s, err := Parse("f.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{
		{Name: "a", Kind: FieldFloat, Max: 100, Decimals: 1},
		{Name: "b", Kind: FieldFloat, Min: 0.25, Max: 1.5, Decimals: 2},
		{Name: "c", Kind: FieldFloat, Max: 100},
		{Name: "d", Kind: FieldInt, Max: 100},
		{Name: "e", Kind: FieldCounter, Start: 5, Step: -1},
		{Name: "f", Kind: FieldWalk, Start: 50, Step: 1, Max: 100},
		{Name: "g", Kind: FieldWalk, Start: 50, Step: 0.5, Max: 100, Decimals: 1},
		{Name: "h", Kind: FieldString, Bytes: 16},
		{Name: "i", Kind: FieldChoice, Choices: []string{"1", "2.5", "true", `"x\"y"`}},
	}
	if !reflect.DeepEqual(s.Payload.Fields, want) {
		t.Errorf("fields\n%+v\nwant\n%+v", s.Payload.Fields, want)
	}
}

// base is a valid scenario that the error cases extend.
const base = "name: x\nphases:\n  - duration: 10s\n    rate: 10/s\n"

func TestParseErrorsHavePositions(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"empty file", "", []string{"x.yaml:1:1: empty file; want a scenario with at least name and phases"}},
		{"not a mapping", "- a\n", []string{`x.yaml:1:1: got a list; want a mapping with keys name, description, target, fleet, observers, phases, payload, timeout, in_flight, thresholds, validity, verify`}},
		{"syntax", "name: [x\n", []string{"x.yaml:1: invalid YAML: did not find expected ',' or ']'"}},
		{"missing name and phases", "description: d\n", []string{
			"x.yaml:1:1: name: missing; want a name such as quickstart",
			"x.yaml:1:1: phases: missing; want a list of phases, each with a duration and a rate"}},
		{"unknown key with suggestion", base + "fleet:\n  thigns: 3\n", []string{`x.yaml:6:3: fleet.thigns: unknown key "thigns"; did you mean "things"?`}},
		{"unknown key far from all", base + "colour: red\n", []string{`x.yaml:5:1: colour: unknown key "colour"`}},
		{"replaced key", base + "fleet:\n  clean_start: false\n", []string{`x.yaml:6:3: fleet.clean_start: key "clean_start" is no longer read; write fleet.session: clean (for clean_start: true) or persistent (for clean_start: false)`}},
		{"duplicate key", base + "timeout: 1s\ntimeout: 2s\n", []string{"x.yaml:6:1: timeout: duplicate key (first at line 5)"}},
		{"bad rate", "name: x\nphases:\n  - duration: 10s\n    rate: fast\n", []string{`x.yaml:4:11: phases[0].rate: "fast": want a rate such as 500/s, 30/m or 100/h`}},
		{"bare number rate", "name: x\nphases:\n  - duration: 10s\n    rate: 100\n", []string{`x.yaml:4:11: phases[0].rate: "100": want a rate such as 500/s, 30/m or 100/h`}},
		{"misspelt metric", base + "thresholds:\n  update.acepted: [\"p(99)<1s\"]\n", []string{`x.yaml:6:3: thresholds.update.acepted: unknown metric "update.acepted"; did you mean "update.accepted"?; see docs/metrics.md for the metrics a run records`}},
		{"unknown phase", base + "thresholds:\n  update.accepted{phase:stedy}: [\"p(99)<1s\"]\n", []string{`x.yaml:6:3: thresholds.update.accepted{phase:stedy}: phase "stedy" is not a phase of this scenario; phases: phase-1`}},
		{"metric not kept per phase", base + "thresholds:\n  connect{phase:phase-1}: [\"p(99)<1s\"]\n", []string{`x.yaml:6:3: thresholds.connect{phase:phase-1}: metric "connect" is not recorded per phase; see docs/metrics.md`}},
		{"abortOnFail without threshold", base + "thresholds:\n  update.accepted: [{abortOnFail: true}]\n", []string{`x.yaml:6:21: thresholds.update.accepted[0].threshold: missing; want an expression such as p(99)<250ms`}},
		{"bad validity", base + "validity: {timeouts: 1, skipped: 200%, violations: -1}\n", []string{
			`x.yaml:5:22: validity.timeouts: "1": want a percentage from 0% to 100% such as 1%`,
			`x.yaml:5:34: validity.skipped: "200%": want a percentage from 0% to 100% such as 1%`,
			`x.yaml:5:52: validity.violations: -1: want 0 or more`}},
		{"absurd rate", "name: x\nphases:\n  - duration: 10s\n    rate: 99999999999999999999999/s\n", []string{`x.yaml:4:11: phases[0].rate: "99999999999999999999999/s": above 1000000/s, the most one run schedules`}},
		{"absurd ramp", "name: x\nphases:\n  - duration: 10s\n    ramp: {from: 0/s, to: 2000000/s}\n", []string{`x.yaml:4:27: phases[0].ramp.to: "2000000/s": above 1000000/s, the most one run schedules`}},
		{"absurd connect rate", base + "fleet: {connect_rate: 1e30/s}\n", []string{`x.yaml:5:23: fleet.connect_rate: "1e30/s": want a rate such as 500/s, 30/m or 100/h`}},
		{"glacial connect rate", base + "fleet: {connect_rate: 0.5/h}\n", []string{`x.yaml:5:23: fleet.connect_rate: "0.5/h": want at least 1/h`}},
		{"absurd fleet", base + "fleet: {things: 99999999999}\n", []string{`x.yaml:5:17: fleet.things: 99999999999: want at most 1000000`}},
		{"in flight above AWS", base + "in_flight: 101\n", []string{`x.yaml:5:12: in_flight: 101: want at most 100`}},
		{"absurd timeout", base + "timeout: 2h\n", []string{`x.yaml:5:10: timeout: "2h": want at most 1h0m0s`}},
		{"absurd mix", base[:len(base)-1] + "\n    mix: {update: 9999999}\n", []string{`x.yaml:5:19: phases[0].mix.update: 9999999: want at most 1000000`}},
		{"phases too long", "name: x\nphases:\n  - {duration: 700h, rate: 1/s}\n  - {duration: 700h, rate: 1/s}\n", []string{`x.yaml:3:3: phases: the phases last 1400h0m0s; want at most 720h0m0s in all`}},
		{"bad duration", "name: x\nphases:\n  - duration: 10\n    rate: 1/s\n", []string{`x.yaml:3:15: phases[0].duration: "10": want a duration such as 10s or 1m30s`}},
		{"zero duration", "name: x\nphases:\n  - duration: 0s\n    rate: 1/s\n", []string{`x.yaml:3:15: phases[0].duration: "0s": want a duration above zero`}},
		{"missing rate and duration", "name: x\nphases:\n  - name: a\n", []string{
			"x.yaml:3:5: phases[0].duration: missing; want a duration such as 30s",
			"x.yaml:3:5: phases[0].rate: missing; want rate: N/s, or ramp: {from: N/s, to: N/s}"}},
		{"ramp in a constant phase", "name: x\nphases:\n  - duration: 1s\n    rate: 1/s\n    ramp: {from: 1/s, to: 2/s}\n", []string{
			"x.yaml:5:5: phases[0].ramp: a phase has either a constant rate (line 4) or a ramp, not both"}},
		{"ramp without to", "name: x\nphases:\n  - duration: 1s\n    ramp: {from: 1/s}\n", []string{
			"x.yaml:4:11: phases[0].ramp.to: missing; want the rate at the end such as 100/s"}},
		{"mix all zero", base + "    mix: {update: 0}\n", []string{"x.yaml:5:10: phases[0].mix: all weights are zero; want at least one of update, get, delete above zero"}},
		{"negative mix", base + "    mix: {get: -1}\n", []string{"x.yaml:5:16: phases[0].mix.get: -1: want 0 or more"}},
		{"bad write", base + "    write: reproted\n", []string{`x.yaml:5:12: phases[0].write: "reproted": want one of reported, desired, both; did you mean "reported"?`}},
		{"duplicate phase names", "name: x\nphases:\n  - {name: a, duration: 1s, rate: 1/s}\n  - {name: a, duration: 1s, rate: 1/s}\n", []string{
			`x.yaml:4:12: phases[1].name: "a" is already the name of the phase at line 3`}},
		{"no phases", "name: x\nphases: []\n", []string{"x.yaml:2:9: phases: empty; want at least one phase"}},
		{"qos 2", base + "payload:\n  qos: 2\n", []string{"x.yaml:6:8: payload.qos: 2: AWS IoT Core does not support QoS 2; want 0 or 1"}},
		{"things 0", base + "fleet:\n  things: 0\n", []string{"x.yaml:6:11: fleet.things: 0: want 1 or more"}},
		{"negative count", base + "observers:\n  - count: -2\n    filters: [a]\n", []string{"x.yaml:6:12: observers[0].count: -2: want 1 or more"}},
		{"things as text", base + "fleet:\n  things: many\n", []string{`x.yaml:6:11: fleet.things: "many": want a whole number`}},
		{"float min above max", base + "payload:\n  fields:\n    t: {float: {min: 5, max: 1}}\n", []string{"x.yaml:7:16: payload.fields.t.float: min 5 is above max 1"}},
		{"walk start outside", base + "payload:\n  fields:\n    t: {walk: {start: 200}}\n", []string{"x.yaml:7:15: payload.fields.t.walk: start 200 is outside min 0 to max 100"}},
		{"unknown generator", base + "payload:\n  fields:\n    t: {flaot: {}}\n", []string{`x.yaml:7:9: payload.fields.t: unknown generator "flaot"; did you mean "float"?; want one of float, int, counter, walk, choice, string, bool`}},
		{"generator param typo", base + "payload:\n  fields:\n    t: {int: {mni: 1}}\n", []string{`x.yaml:7:15: payload.fields.t.int.mni: unknown key "mni"; did you mean "min"?`}},
		{"empty fields", base + "payload:\n  fields: {}\n", []string{"x.yaml:6:11: payload.fields: empty; want at least one field such as seq: {counter: {}}"}},
		{"bad shadow name", base + "fleet:\n  shadows: [classic, \"a b\"]\n", []string{`x.yaml:6:22: fleet.shadows[1]: shadow name "a b": character ' ' at byte 1: want only [$a-zA-Z0-9:_-]`}},
		{"long shadow name", base + "fleet:\n  shadows: [" + strings.Repeat("s", 65) + "]\n", []string{`x.yaml:6:13: fleet.shadows[0]: shadow name "` + strings.Repeat("s", 40) + `": want 1–64 characters of [$a-zA-Z0-9:_-], got 65`}},
		{"duplicate shadow", base + "fleet:\n  shadows: [cfg, cfg]\n", []string{`x.yaml:6:18: fleet.shadows[1]: "cfg" is listed twice`}},
		{"name without placeholder", base + "fleet:\n  name: dev\n", []string{`x.yaml:6:9: fleet.name: name pattern "dev" has no {i} or {i:0N} placeholder, so 10 things would share one name`}},
		{"name with bad character", base + "fleet:\n  name: \"dev/{i}\"\n", []string{`x.yaml:6:9: fleet.name: name pattern "dev/{i}": character '/' at offset 3 is not allowed in a thing name; want [a-zA-Z0-9:_-]`}},
		{"name too long", base + "fleet:\n  name: \"" + strings.Repeat("d", 125) + "{i:04}\"\n", []string{
			`x.yaml:6:9: fleet.name: thing 9: thing name "` + strings.Repeat("d", 40) + `": want 1–128 characters of [a-zA-Z0-9:_-], got 129`}},
		{"nine filters", base + "observers:\n  - filters: [a, b, c, d, e, f, g, h, i]\n", []string{"x.yaml:6:14: observers[0].filters: 9 filters; AWS allows 8 per SUBSCRIBE"}},
		{"bad filter", base + "observers:\n  - filters: [\"a/#/b\"]\n", []string{`x.yaml:6:15: observers[0].filters[0]: topic filter "a/#/b": + and # must stand alone in a level, and # must be last`}},
		{"observer without filters", base + "observers:\n  - name: o\n", []string{"x.yaml:6:5: observers[0].filters: missing; want the topic filters to subscribe to"}},
		{"two generators", base + "payload:\n  fields:\n    t: {int: {}, bool: {}}\n", []string{"x.yaml:7:8: payload.fields.t: 2 generators; want exactly one such as {float: {min: 0, max: 1}}"}},
		{"observer client ID is a thing name", base + "fleet: {name: \"sim-{i}\"}\nobservers:\n  - {name: sim, count: 2, filters: [a]}\n", []string{
			`x.yaml:7:3: observers: observer "sim" connection 0 would use client ID "sim-0", the name of a thing`}},
		{"huge observer group", base + "observers:\n  - {count: 10001, filters: [a]}\n", []string{"x.yaml:6:13: observers[0].count: 10001: want at most 10000 connections per observer group"}},
		{"real endpoint without bundles", base + "target:\n  endpoint: example.com:8883\n", []string{"x.yaml:6:13: target.bundles: missing; a real endpoint needs the certificate bundles written by shadowload provision"}},
		{"emulator with real endpoint", base + "target:\n  endpoint: example.com:8883\n  bundles: b\n  emulator: {limits: aws}\n", []string{`x.yaml:8:3: target.emulator: only for the embedded endpoint; endpoint is "example.com:8883"`}},
		{"bad endpoint", base + "target:\n  endpoint: example.com\n", []string{
			`x.yaml:6:13: target.endpoint: "example.com": want "embedded" or host:port such as xxxx-ats.iot.us-east-1.amazonaws.com:8883`,
			"x.yaml:6:13: target.bundles: missing; a real endpoint needs the certificate bundles written by shadowload provision"}},
		{"bad latency", base + "target:\n  emulator: {latency: \"fixed:soon\"}\n", []string{`x.yaml:6:23: target.emulator.latency: latency "fixed:soon": delay "soon" is not a duration; want one such as 20ms`}},
		{"bad limits", base + "target:\n  emulator: {limits: strict}\n", []string{`x.yaml:6:22: target.emulator.limits: "strict": want one of default, aws, none`}},
		{"keep alive fraction", base + "fleet:\n  keep_alive: 1500ms\n", []string{"x.yaml:6:15: fleet.keep_alive: 1.5s: want whole seconds up to 65535s"}},
		{"in flight zero", base + "in_flight: 0\n", []string{"x.yaml:5:12: in_flight: 0: want 1 or more"}},
		{"bad scenario name", "name: my test\nphases: [{duration: 1s, rate: 1/s}]\n", []string{`x.yaml:1:7: name: "my test": want 1 to 128 characters from [A-Za-z0-9._-]`}},
		{"two documents", base + "---\nname: y\n", []string{"x.yaml:5:1: a second YAML document; want one scenario per file"}},
		{"threshold bad expression", base + "thresholds:\n  update.accepted: [\"p(99)<fast\", \"p(99)<1s\"]\n  update.rejected: \"ratio<1%\"\n", []string{
			`x.yaml:6:21: thresholds.update.accepted[0]: "p(99)<fast": want a duration such as 250ms`,
			`x.yaml:7:20: thresholds.update.rejected: "ratio<1%": want p(N), med, avg, min, max, count, rate or achieved, then an operator and a value, such as p(99)<250ms`}},
		{"threshold bad metric", base + "thresholds:\n  \"update accepted\": \"p(99)<1s\"\n", []string{
			`x.yaml:6:3: thresholds.update accepted: metric "update accepted": want a dotted name such as update.accepted, or one scoped to a phase such as update.accepted{phase:steady}`}},
		{"threshold empty list", base + "thresholds:\n  update.accepted: []\n", []string{"x.yaml:6:20: thresholds.update.accepted: empty; want at least one expression"}},
		{"mapping for a scalar", base + "timeout: {a: 1}\n", []string{"x.yaml:5:10: timeout: got a mapping; want a duration such as 10s or 1m30s"}},
		{"empty value", base + "timeout:\n", []string{"x.yaml:5:9: timeout: got nothing; want a duration such as 10s or 1m30s"}},
		{"yes is not a boolean", base + "payload: {optimistic: yes}\n", []string{`x.yaml:5:23: payload.optimistic: "yes": want true or false`}},
		{"text for a number", base + "payload:\n  fields:\n    t: {float: {min: low}}\n", []string{`x.yaml:7:22: payload.fields.t.float.min: "low": want a finite number`}},
		{"list for a mapping", base + "fleet: [1]\n", []string{"x.yaml:5:8: fleet: got a list; want a mapping with keys things, name, connect_rate, keep_alive, protocol, session, session_expiry, shadows"}},
		{"mapping for a list", base + "observers: {a: 1}\n", []string{"x.yaml:5:12: observers: got a mapping; want a list of observer groups"}},
		{"list for thresholds", base + "thresholds: [a]\n", []string{"x.yaml:5:13: thresholds: got a list; want a mapping of metric names to threshold expressions"}},
		{"zero connect rate", base + "fleet: {connect_rate: 0/s}\n", []string{`x.yaml:5:23: fleet.connect_rate: "0/s": want a rate above zero`}},
		{"errors are collected in file order", "name: x\ntimeout: soon\nphases:\n  - duration: 1s\n    rate: 1/q\nin_flight: -1\n", []string{
			`x.yaml:2:10: timeout: "soon": want a duration such as 10s or 1m30s`,
			`x.yaml:5:11: phases[0].rate: "1/q": want a rate such as 500/s, 30/m or 100/h`,
			"x.yaml:6:12: in_flight: -1: want 1 or more"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("x.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("parsed %+v; want errors %q", s, tt.want)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %T %v; want Errors", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{Source: "scenarios/x.yaml", Line: 12, Column: 7, Field: "phases[0].rate", Msg: `"fast": want a rate such as 500/s`},
			`scenarios/x.yaml:12:7: phases[0].rate: "fast": want a rate such as 500/s`},
		{Error{Source: "x.yaml", Line: 3, Msg: "invalid YAML"}, "x.yaml:3: invalid YAML"},
		{Error{Source: "command line", Field: "things", Msg: "-1: want 1 or more"}, "command line: things: -1: want 1 or more"},
		{Error{Msg: "bare"}, "bare"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q; want %q", got, tt.want)
		}
	}
}

func TestLoadResolvesPathsBesideTheFile(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/aws.yaml"
	src := base + "target:\n  endpoint: a.example.com:8883\n  bundles: ./bundles\n  root_ca: /etc/ca.pem\n"
	if err := writeFile(path, src); err != nil {
		t.Fatal(err)
	}
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Target.Bundles != dir+"/bundles" || s.Target.RootCA != "/etc/ca.pem" {
		t.Errorf("bundles %q root CA %q; want %q and /etc/ca.pem", s.Target.Bundles, s.Target.RootCA, dir+"/bundles")
	}
	if s.Target.Embedded() {
		t.Error("a host:port endpoint is not embedded")
	}
}

func TestLoadMissingFileSaysWhich(t *testing.T) {
	_, err := Load(t.TempDir() + "/nope.yaml")
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("error %v; want one naming nope.yaml", err)
	}
}

func TestErrorsUnwrapToPositionedErrors(t *testing.T) {
	_, err := Parse("x.yaml", []byte(base+"timeout: soon\n"))
	var e *Error
	if !errors.As(err, &e) || e.Line != 5 || e.Column != 10 || e.Field != "timeout" {
		t.Errorf("errors.As gave %+v; want the timeout error at 5:10", e)
	}
}

func TestThresholdSpecParsesForEvaluation(t *testing.T) {
	s, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range s.Thresholds {
		th, err := spec.Threshold()
		if err != nil || th.Metric != spec.Metric || th.Expr != spec.Expr {
			t.Errorf("%+v: %+v, %v", spec, th, err)
		}
	}
}

func mustLatency(t *testing.T, spec string) latency.Dist {
	t.Helper()
	d, err := latency.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
