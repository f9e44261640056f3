package scenario

import (
	"reflect"
	"testing"
)

func TestShadowTopicClassicAndNamed(t *testing.T) {
	if got := ShadowTopic("t1", ClassicShadow, "update"); got != "$aws/things/t1/shadow/update" {
		t.Errorf("classic topic %q", got)
	}
	if got := ShadowTopic("t1", "config", "get/accepted"); got != "$aws/things/t1/shadow/name/config/get/accepted" {
		t.Errorf("named topic %q", got)
	}
}

func TestDeviceFiltersAreTheEnginesForTheFleetsShadows(t *testing.T) {
	tests := []struct {
		shadows []string
		want    []string
	}{
		{[]string{"classic"}, []string{
			"$aws/things/t/shadow/+/accepted", "$aws/things/t/shadow/+/rejected", "$aws/things/t/shadow/update/delta",
		}},
		{[]string{"classic", "cfg", "telemetry"}, []string{
			"$aws/things/t/shadow/+/accepted", "$aws/things/t/shadow/+/rejected", "$aws/things/t/shadow/update/delta",
			"$aws/things/t/shadow/name/+/+/accepted", "$aws/things/t/shadow/name/+/+/rejected", "$aws/things/t/shadow/name/+/update/delta",
		}},
	}
	for _, tt := range tests {
		s := &Scenario{Fleet: Fleet{Shadows: tt.shadows}}
		if got := s.DeviceFilters("t"); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("shadows %q: filters\n%q\nwant\n%q", tt.shadows, got, tt.want)
		}
	}
}

func TestThingNamesFromThePattern(t *testing.T) {
	tests := []struct {
		pattern string
		i       int
		want    string
	}{
		{"sim-{i:05}", 7, "sim-00007"},
		{"sim-{i:05}", 123456, "sim-123456"},
		{"{i}", 0, "0"},
		{"dev:{i}_x", 42, "dev:42_x"},
	}
	for _, tt := range tests {
		f := Fleet{Name: tt.pattern, Things: tt.i + 1}
		if got := f.ThingName(tt.i); got != tt.want {
			t.Errorf("%q ThingName(%d) = %q; want %q", tt.pattern, tt.i, got, tt.want)
		}
		if i, ok := f.ThingIndex(tt.want); !ok || i != tt.i {
			t.Errorf("%q ThingIndex(%q) = %d, %v; want %d", tt.pattern, tt.want, i, ok, tt.i)
		}
	}
	f := Fleet{Name: "sim-{i:03}", Things: 10}
	for _, name := range []string{"sim-10", "sim-010", "sim-7", "sim-", "other-001", "sim-00a"} {
		if i, ok := f.ThingIndex(name); ok {
			t.Errorf("ThingIndex(%q) = %d; want no thing of a 10-thing fleet", name, i)
		}
	}
}

func TestSuggestOnlyCloseKeys(t *testing.T) {
	keys := []string{"things", "name", "connect_rate", "keep_alive"}
	tests := map[string]string{
		"thigns":      `; did you mean "things"?`,
		"Things":      `; did you mean "things"?`,
		"keepalive":   `; did you mean "keep_alive"?`,
		"connectrate": `; did you mean "connect_rate"?`,
		"colour":      "",
		"x":           "",
	}
	for in, want := range tests {
		if got := suggest(in, keys); got != want {
			t.Errorf("suggest(%q) = %q; want %q", in, got, want)
		}
	}
}
