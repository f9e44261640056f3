package emulator

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// sampledHandler passes at most burst records per second to the next handler
// and then reports how many it dropped, so a flood of broker rejections under
// load costs neither CPU in formatting nor the user's terminal.
type sampledHandler struct {
	next  slog.Handler
	burst int
	state *sampleState
}

type sampleState struct {
	mu      sync.Mutex
	window  time.Time
	passed  int
	dropped int
}

func newSampledHandler(next slog.Handler, burst int) *sampledHandler {
	return &sampledHandler{next: next, burst: burst, state: &sampleState{}}
}

// Enabled defers to the next handler.
func (h *sampledHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle passes the record on when the current second still has room.
func (h *sampledHandler) Handle(ctx context.Context, r slog.Record) error {
	s := h.state
	s.mu.Lock()
	now := r.Time
	if now.IsZero() {
		now = time.Now()
	}
	var dropped int
	if now.Sub(s.window) >= time.Second {
		dropped, s.dropped = s.dropped, 0
		s.window, s.passed = now, 0
	}
	if s.passed >= h.burst {
		s.dropped++
		s.mu.Unlock()
		return nil
	}
	s.passed++
	s.mu.Unlock()
	if dropped > 0 {
		note := slog.NewRecord(now, slog.LevelWarn, "broker log records dropped by sampling", 0)
		note.AddAttrs(slog.Int("dropped", dropped))
		_ = h.next.Handle(ctx, note)
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs returns a handler sharing this one's budget.
func (h *sampledHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &sampledHandler{next: h.next.WithAttrs(attrs), burst: h.burst, state: h.state}
}

// WithGroup returns a handler sharing this one's budget.
func (h *sampledHandler) WithGroup(name string) slog.Handler {
	return &sampledHandler{next: h.next.WithGroup(name), burst: h.burst, state: h.state}
}

// newBrokerLogger returns the logger the broker gets: the user's handler behind
// sampling, tagged as the broker's.
func newBrokerLogger(l *slog.Logger) *slog.Logger {
	return slog.New(newSampledHandler(l.Handler(), brokerLogBurst)).With("component", "broker")
}
