package topic

import "testing"

func TestMatch(t *testing.T) {
	tests := []struct {
		filter, topic   string
		dollarWildcards bool
		want            bool
	}{
		{"a/b", "a/b", false, true},
		{"a/b", "a/c", false, false},
		{"a/+", "a/b", false, true},
		{"a/+", "a/b/c", false, false},
		{"a/+", "a", false, false},
		{"a/+/c", "a/b/c", false, true},
		{"a/#", "a/b/c", false, true},
		{"a/#", "a", false, true},
		{"a/#", "a/", false, true},
		{"a/b", "a/b/c", false, false},
		{"a/b/c", "a/b", false, false},
		{"+", "a", false, true},
		{"+", "a/b", false, false},
		{"#", "a/b", false, true},
		{"#", "$aws/things/x/shadow/update", false, false},
		{"#", "$aws/things/x/shadow/update", true, true},
		{"+/things/x/shadow/update", "$aws/things/x/shadow/update", false, false},
		{"+/things/x/shadow/update", "$aws/things/x/shadow/update", true, true},
		{"$aws/#", "$aws/things/x", false, true},
		{"$aws/things/+/shadow/update/documents", "$aws/things/sim-1/shadow/update/documents", false, true},
		{"$aws/things/+/shadow/update/documents", "$aws/things/sim-1/shadow/name/cfg/update/documents", false, false},
		{"$aws/things/+/shadow/+/accepted", "$aws/things/t/shadow/get/accepted", false, true},
		{"$aws/things/t1/shadow/#", "$aws/things/t1/shadow", false, true},
	}
	for _, tt := range tests {
		if got := Match(tt.filter, tt.topic, tt.dollarWildcards); got != tt.want {
			t.Errorf("Match(%q, %q, %v) = %v, want %v", tt.filter, tt.topic, tt.dollarWildcards, got, tt.want)
		}
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("a/+/#", "a/b/c")
	f.Add("#", "$aws/x")
	f.Fuzz(func(t *testing.T, filter, topic string) {
		got := Match(filter, topic, false)
		if filter == topic && !got {
			t.Fatalf("%q does not match itself", filter)
		}
		if topic != "" && topic[0] != '$' && !Match("#", topic, false) {
			t.Fatalf(`"#" does not match %q`, topic)
		}
		if got && !Match(filter, topic, true) {
			t.Fatalf("lifting the $ rule made %q stop matching %q", filter, topic)
		}
	})
}
