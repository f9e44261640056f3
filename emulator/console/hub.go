package console

import (
	"sync"
	"time"
)

// subscriberBuffer bounds the events waiting for one event stream; a
// stream that falls further behind loses events and is told to reload.
const subscriberBuffer = 256

// maxSubscribers bounds the console's open event streams.
const maxSubscribers = 256

// event is one thing the console's pages update on.
type event struct {
	// Kind is "presence" (a lifecycle connected or disconnected event)
	// or "shadow" (a shadow's documents or delete).
	Kind string `json:"kind"`
	// Thing is the thing concerned: the shadow's thing, or for presence
	// the client ID.
	Thing string `json:"thing,omitempty"`
	// Shadow is the shadow's name, "" for the classic shadow.
	Shadow string `json:"shadow,omitempty"`
	// ClientID, Principal and State describe a presence event.
	ClientID  string `json:"clientId,omitempty"`
	Principal string `json:"principal,omitempty"`
	State     string `json:"state,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Version   int64  `json:"version,omitempty"`
	At        int64  `json:"at"`
}

// hub fans events out to the open event streams, each with its filter.
type hub struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	want func(event) bool
	ch   chan event
	// lost is set when an event was dropped for this subscriber.
	lost chan struct{}
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

// subscribe opens a stream of the events want accepts; nil when the hub
// is closed or full.
func (h *hub) subscribe(want func(event) bool) *subscriber {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.subs) >= maxSubscribers {
		return nil
	}
	s := &subscriber{want: want, ch: make(chan event, subscriberBuffer), lost: make(chan struct{}, 1)}
	h.subs[s] = struct{}{}
	return s
}

// unsubscribe closes a stream.
func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// publish hands ev to every stream that wants it, never blocking.
func (h *hub) publish(ev event) {
	if ev.At == 0 {
		ev.At = time.Now().UnixMilli()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if !s.want(ev) {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			select {
			case s.lost <- struct{}{}:
			default:
			}
		}
	}
}

// close ends every stream.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.ch)
	}
}
