package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// brokenWriter fails every write, as a closed pipe or full disk would.
type brokenWriter struct{}

var errBroken = errors.New("disk full")

func (brokenWriter) Write([]byte) (int, error) { return 0, errBroken }

func TestWritersReportWriteFailures(t *testing.T) {
	rep := knownRun(t)
	tests := []struct {
		name  string
		write func() error
		want  string
	}{
		{"json", func() error { return rep.WriteJSON(brokenWriter{}) }, "write report: disk full"},
		{"summary", func() error { return WriteSummary(brokenWriter{}, rep) }, "write summary: disk full"},
		{"hgrm", func() error { return WriteHgrm(brokenWriter{}, rep, "update.accepted") }, `write hgrm "update.accepted": disk full`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.write()
			if err == nil || err.Error() != tt.want || !errors.Is(err, errBroken) {
				t.Errorf("error %v, want %q wrapping the writer's error", err, tt.want)
			}
		})
	}
}

func TestFinalUsesTheWallClock(t *testing.T) {
	s := NewSet()
	sent := s.Counter("update.sent")
	before := time.Now()
	c := s.Collector()
	s.NewRecorder().Add(sent, 5)
	rep := c.Final()
	after := time.Now()
	if st := c.Start(); st.Before(before) || st.After(after) || !rep.Start.Equal(st) {
		t.Errorf("start %v, want between %v and %v", st, before, after)
	}
	if rep.Duration < 0 || rep.Duration > after.Sub(before) || rep.Counters["update.sent"] != 5 {
		t.Errorf("duration %v count %d", rep.Duration, rep.Counters["update.sent"])
	}
	var b strings.Builder
	if err := WriteSummary(&b, &Report{Counters: map[string]int64{"x": 1}}); err != nil || !strings.Contains(b.String(), "x       1      -\n") {
		t.Errorf("summary of a report without duration: %v\n%s", err, b.String())
	}
}

func TestMergeSummaryKeepsTheSideWithValues(t *testing.T) {
	s := Summary{Count: 2, Min: 1, Mean: 2, P50: 2, P90: 3, P99: 3, P999: 3, Max: 3}
	if got := mergeSummary(Summary{}, s); got != s {
		t.Errorf("empty+s = %+v", got)
	}
	if got := mergeSummary(s, Summary{}); got != s {
		t.Errorf("s+empty = %+v", got)
	}
	if got := formatElapsed(-time.Second); got != "00:00" {
		t.Errorf("formatElapsed(-1s) = %q", got)
	}
}
