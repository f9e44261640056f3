package load

import (
	"encoding/json"
	"testing"
)

func TestMaxStamp(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    int64
	}{
		{"none", `{"state":{"reported":{"a":1}}}`, -1},
		{"one", `{"state":{"reported":{"shadowload_ns":12345}}}`, 12345},
		{"documents keeps the newest", `{"previous":{"state":{"reported":{"shadowload_ns":100}}},"current":{"state":{"reported":{"shadowload_ns":250}}}}`, 250},
		{"an answer's own stamp beats the desired stamp it copies", `{"state":{"reported":{"shadowload_ns":100,"shadowload_answer_ns":180}}}`, 180},
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

func TestAppendStamped(t *testing.T) {
	tests := []struct{ obj, want string }{
		{`{"a":1}`, `{"a":1,"k":7}`},
		{`{}`, `{"k":7}`},
		{` { } `, `{"k":7}`},
		{``, `{"k":7}`},
		{`{"a":{"b":[1,2]}}`, `{"a":{"b":[1,2]},"k":7}`},
	}
	for _, tt := range tests {
		got := string(appendStamped([]byte("x"), []byte(tt.obj), "k", 7))
		if got != "x"+tt.want {
			t.Errorf("appendStamped(%q) = %q, want %q", tt.obj, got, "x"+tt.want)
		}
		if !json.Valid([]byte(got[1:])) {
			t.Errorf("appendStamped(%q) = %q is not JSON", tt.obj, got)
		}
	}
}
