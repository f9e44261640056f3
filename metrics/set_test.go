package metrics

import (
	"strings"
	"testing"
)

func TestSetRedeclaringSameKindReturnsSameID(t *testing.T) {
	s := NewSet()
	a := s.Latency("connect")
	b := s.Counter("update.sent")
	if got := s.Latency("connect"); got != a {
		t.Errorf("Latency(connect) again = %d, want %d", got, a)
	}
	if got := s.Counter("update.sent", Base("x")); got != b {
		t.Errorf("Counter(update.sent) again = %d, want %d", got, b)
	}
	if id, ok := s.Lookup("update.sent"); !ok || id != b {
		t.Errorf("Lookup(update.sent) = %d, %v; want %d, true", id, ok, b)
	}
	if _, ok := s.Lookup("nope"); ok {
		t.Error("Lookup(nope) found a metric")
	}
}

func TestSetMisusePanicsWithReason(t *testing.T) {
	tests := []struct {
		name string
		do   func(s *Set)
		want string
	}{
		{"empty name", func(s *Set) { s.Counter("") }, "want a non-empty dotted name"},
		{"space in name", func(s *Set) { s.Latency("update accepted") }, "without spaces"},
		{"kind conflict", func(s *Set) { s.Latency("x"); s.Counter("x") }, `"x" declared as a counter, already declared as a latency`},
		{"declare after recorder", func(s *Set) { s.NewRecorder(); s.Counter("late") }, "declared after recording started"},
		{"declare after collector", func(s *Set) { s.Collector(); s.Latency("late") }, "declared after recording started"},
		{"record on counter", func(s *Set) { id := s.Counter("c"); s.NewRecorder().Record(id, 1000) }, `Record on counter "c"`},
		{"add on latency", func(s *Set) { id := s.Latency("l"); s.NewRecorder().Add(id, 1) }, `Add on latency "l"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, tt.want) {
					t.Errorf("panic %q, want it to contain %q", msg, tt.want)
				}
			}()
			tt.do(NewSet())
		})
	}
}

func TestSetCollectorIsShared(t *testing.T) {
	s := NewSet()
	a, b := s.Collector(), s.Collector()
	if a != b {
		t.Error("Collector returned two collectors for one set")
	}
}
