package shadowsvc

import (
	"sync"
	"testing"
	"time"
)

// published is one message seen by a recorder.
type published struct {
	topic   string
	payload string
	at      time.Time
}

// recorder is a Publisher that keeps every message with its arrival time.
type recorder struct {
	mu   sync.Mutex
	msgs []published
	more chan struct{}
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{}, 1)} }

func (r *recorder) Publish(topic string, payload []byte) {
	r.mu.Lock()
	r.msgs = append(r.msgs, published{topic: topic, payload: string(payload), at: time.Now()})
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
}

// all returns a copy of the messages seen so far.
func (r *recorder) all() []published {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]published(nil), r.msgs...)
}

// wait returns once n messages have been seen, failing the test after a
// generous deadline.
func (r *recorder) wait(t testing.TB, n int) []published {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if m := r.all(); len(m) >= n {
			return m
		}
		select {
		case <-r.more:
		case <-deadline:
			t.Fatalf("waited 10s for %d messages, have %d: %v", n, len(r.all()), r.all())
		}
	}
}

// eventually waits until cond holds, failing the test with what after a
// generous deadline.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
