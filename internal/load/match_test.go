package load

import "testing"

func TestMatchFilter(t *testing.T) {
	tests := []struct {
		filter, topic string
		hashDollar    bool
		want          bool
	}{
		{"a/b", "a/b", false, true},
		{"a/+", "a/b", false, true},
		{"a/+", "a/b/c", false, false},
		{"a/#", "a/b/c", false, true},
		{"a/#", "a", false, true},
		{"#", "a/b", false, true},
		{"#", "$aws/things/x/shadow/update", false, false},
		{"#", "$aws/things/x/shadow/update", true, true},
		{"+/things/x/shadow/update", "$aws/things/x/shadow/update", true, false},
		{"$aws/things/+/shadow/update/documents", "$aws/things/sim-1/shadow/update/documents", false, true},
		{"$aws/things/+/shadow/update/documents", "$aws/things/sim-1/shadow/name/cfg/update/documents", false, false},
		{"$aws/things/+/shadow/+/accepted", "$aws/things/t/shadow/get/accepted", false, true},
		{"a/b", "a/b/c", false, false},
		{"a/b/c", "a/b", false, false},
	}
	for _, tt := range tests {
		if got := matchFilter(tt.filter, tt.topic, tt.hashDollar); got != tt.want {
			t.Errorf("matchFilter(%q, %q, %v) = %v, want %v", tt.filter, tt.topic, tt.hashDollar, got, tt.want)
		}
	}
}
