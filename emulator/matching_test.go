package emulator

import "testing"

func TestTopicMatchesFollowsMQTT(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/+/c", "a/b/c", true},
		{"a/#", "a/b/c", true},
		{"a/#", "a", true},
		{"a/#", "a/", true},
		{"#", "a/b", true},
		{"#", "$aws/things", false},
		{"+/things", "$aws/things", false},
		{"$aws/#", "$aws/things/x", true},
		{"+", "a", true},
		{"+", "a/b", false},
		{"a/b/c", "a/b", false},
		{"a/+", "a", false},
	}
	for _, tt := range tests {
		if got := topicMatches(tt.filter, tt.topic); got != tt.want {
			t.Errorf("topicMatches(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
	}
}

func TestParentFilterDoesNotMatchItsParentTopic(t *testing.T) {
	cs := &connState{}
	cs.addFilter("a/#")
	if !cs.onlyParentMatch("a") {
		t.Fatal(`"a/#" alone delivered "a"`)
	}
	if cs.onlyParentMatch("a/b") {
		t.Fatal(`"a/#" did not deliver "a/b"`)
	}
	cs.addFilter("+")
	if cs.onlyParentMatch("a") {
		t.Fatal(`"+" should deliver "a"`)
	}
	cs.removeFilter("+")
	cs.removeFilter("a/#")
	if cs.onlyParentMatch("a") || cs.parentFilters != 0 {
		t.Fatalf("after removal: parentFilters=%d", cs.parentFilters)
	}
}

func FuzzTopicMatches(f *testing.F) {
	f.Add("a/+/#", "a/b/c")
	f.Add("#", "$aws/x")
	f.Fuzz(func(t *testing.T, filter, topic string) {
		got := topicMatches(filter, topic)
		// Every string matches itself as a filter, except a "$" topic
		// against a leading wildcard, which cannot be both at once.
		if filter == topic && !got {
			t.Fatalf("%q does not match itself", filter)
		}
		// "#" matches every topic that does not start with "$".
		if topic != "" && topic[0] != '$' && !topicMatches("#", topic) {
			t.Fatalf(`"#" does not match %q`, topic)
		}
	})
}
