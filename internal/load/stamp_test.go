package load

import "testing"

func TestMaxStamp(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    int64
	}{
		{"none", `{"state":{"reported":{"a":1}}}`, -1},
		{"one", `{"state":{"reported":{"shadowload_ns":12345}}}`, 12345},
		{"documents keeps the newest", `{"previous":{"state":{"reported":{"shadowload_ns":100}}},"current":{"state":{"reported":{"shadowload_ns":250}}}}`, 250},
		{"metadata timestamp is not a stamp", `{"metadata":{"reported":{"shadowload_ns":{"timestamp":1730481958}}},"state":{"reported":{"shadowload_ns":7}}}`, 7},
		{"empty", ``, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := maxStamp([]byte(tt.payload)); got != tt.want {
				t.Errorf("maxStamp(%s) = %d, want %d", tt.payload, got, tt.want)
			}
		})
	}
}
