package broker

import "sync"

// retainedStore holds the last retained message of each topic.
type retainedStore struct {
	mu   sync.RWMutex
	msgs map[string]*message
}

// set stores m as topic's retained message, or deletes it when m's payload
// is empty.
func (r *retainedStore) set(m *message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(m.payload) == 0 {
		delete(r.msgs, m.topic)
		return
	}
	if r.msgs == nil {
		r.msgs = map[string]*message{}
	}
	r.msgs[m.topic] = m
}

// get returns topic's retained message.
func (r *retainedStore) get(topic string) *message {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.msgs[topic]
}

// Retained returns the payload of topic's retained message and whether
// there is one.
func (s *Server) Retained(topic string) ([]byte, bool) {
	m := s.retained.get(topic)
	if m == nil {
		return nil, false
	}
	return m.payload, true
}
