package broker

import (
	"fmt"
	"testing"
)

func TestIndexMatchesAsAWS(t *testing.T) {
	tests := []struct {
		filter, topic string
		dollar, want  bool
	}{
		{"a/b", "a/b", false, true},
		{"a/+", "a/b", false, true},
		{"a/+", "a/b/c", false, false},
		{"a/#", "a/b/c", false, true},
		{"a/#", "a/", false, true},
		{"a/#", "a", false, false}, // AWS: "a/#" does not match its parent
		{"+/#", "a", false, false},
		{"#", "a", false, true},
		{"+", "a", false, true},
		{"#", "$aws/things/x", false, false},
		{"#", "$aws/things/x", true, true},
		{"+/things/x", "$aws/things/x", false, false},
		{"+/things/x", "$aws/things/x", true, true},
		{"$aws/things/+/shadow/+/accepted", "$aws/things/t1/shadow/update/accepted", false, true},
		{"$aws/things/+/shadow/+/accepted", "$aws/things/t1/shadow/update/rejected", false, false},
		{"$share/g/a/+", "a/b", false, true},
		{"$share/g/#", "$aws/x", false, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s %v", tt.filter, tt.topic, tt.dollar), func(t *testing.T) {
			x := newIndex(tt.dollar)
			s := &session{}
			sub := &subscription{s: s, filter: tt.filter}
			x.add(sub)
			var m matches
			x.match(tt.topic, &m)
			got := m.n > 0 || len(m.groups) > 0
			if got != tt.want {
				t.Fatalf("match = %v, want %v", got, tt.want)
			}
			x.remove(sub)
			if x.hasMatch(tt.topic) {
				t.Fatal("still matches after remove")
			}
		})
	}
}

func TestIndexDeliversOncePerSessionAndReplacesResubscriptions(t *testing.T) {
	x := newIndex(false)
	s := &session{}
	x.add(&subscription{s: s, filter: "a/b", qos: 0})
	x.add(&subscription{s: s, filter: "a/b", qos: 1})
	var m matches
	x.match("a/b", &m)
	if m.n != 1 || len(m.list(0)) != 1 || m.list(0)[0].qos != 1 {
		t.Fatalf("after resubscribing: %d lists", m.n)
	}
}

func BenchmarkIndexMatchPerThingWildcards(b *testing.B) {
	x := newIndex(true)
	for i := range 2000 {
		s := &session{}
		p := fmt.Sprintf("$aws/things/sim-%05d/shadow/", i)
		for _, f := range []string{p + "+/accepted", p + "+/rejected", p + "update/delta"} {
			x.add(&subscription{s: s, filter: f})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		var m matches
		x.match("$aws/things/sim-01234/shadow/update/accepted", &m)
		if m.n != 1 {
			b.Fatal("no match")
		}
	}
}
