package broker

import (
	"crypto/rand"
	"fmt"
	"sync"
	"time"
)

// session is a client ID's session: its subscriptions, and while no
// connection holds it, the QoS 1 messages stored for it.
type session struct {
	srv      *Server
	clientID string
	uid      string // sessionIdentifier: a UUID for the session's life

	mu     sync.Mutex
	v5     bool
	conn   *Client // nil while offline
	subs   map[string]*subscription
	expiry time.Duration // how long the session outlives its connection; 0: it ends with it
	ended  bool
	stored []delivery // QoS 1 messages kept while offline, oldest first
	timer  *timer
	// willTimer publishes a delayed will unless the session is resumed first.
	willTimer *timer
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// online reports whether a connection holds the session.
func (s *session) online() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil
}

// attach makes c the holder of its client ID's session: it takes over a
// connection holding it, resumes a persistent session of the same protocol
// version unless clean, and otherwise starts a new one. It returns whether
// a session was resumed, the stored messages to replay, and the connection
// taken over (to be disconnected by the caller).
func (s *Server) attach(c *Client, clean bool, expiry time.Duration) (present bool, replay []delivery, old *Client) {
	var endSubs []*subscription
	s.sessMu.Lock()
	prev := s.sessions[c.ID]
	var sess *session
	if prev != nil {
		prev.mu.Lock()
		if !prev.ended {
			if prev.willTimer != nil {
				prev.willTimer.Stop()
				prev.willTimer = nil
			}
			var moved []delivery
			if old = prev.conn; old != nil {
				prev.conn = nil
				old.out.mu.Lock()
				moved = old.detachLocked()
				old.out.mu.Unlock()
			}
			persistent := prev.expiry > 0
			if !clean && persistent && prev.v5 == c.v5() {
				sess, present = prev, true
				if prev.timer != nil {
					prev.timer.Stop()
					prev.timer = nil
				}
				replay = append(moved, prev.stored...)
				prev.stored = nil
			} else {
				prev.ended = true
				for _, sub := range prev.subs {
					endSubs = append(endSubs, sub)
				}
				prev.subs = nil
				prev.stored = nil
				if prev.timer != nil {
					prev.timer.Stop()
				}
			}
		}
		prev.mu.Unlock()
	}
	if sess == nil {
		sess = &session{srv: s, clientID: c.ID, uid: newUUID(), subs: map[string]*subscription{}}
		s.sessions[c.ID] = sess
	}
	sess.mu.Lock()
	sess.conn = c
	sess.v5 = c.v5()
	sess.expiry = expiry
	sess.mu.Unlock()
	s.sessMu.Unlock()
	for _, sub := range endSubs {
		s.index.remove(sub)
	}
	c.sess = sess
	c.SessionID = sess.uid
	if max := s.opts.MaxQueued; len(replay) > max {
		s.stats.dropped.Add(uint64(len(replay) - max))
		replay = replay[len(replay)-max:]
	}
	return present, replay, old
}

// detach ends c's hold on its session: a persistent session keeps c's
// unfinished QoS 1 deliveries and starts its expiry clock; any other ends.
func (s *Server) detach(c *Client) {
	sess := c.sess
	if sess == nil {
		return
	}
	var endSubs []*subscription
	sess.mu.Lock()
	if sess.conn != c {
		sess.mu.Unlock()
		return
	}
	sess.conn = nil
	c.out.mu.Lock()
	left := c.detachLocked()
	c.out.mu.Unlock()
	ended := sess.expiry <= 0
	if ended {
		sess.ended = true
		for _, sub := range sess.subs {
			endSubs = append(endSubs, sub)
		}
		sess.subs = nil
	} else {
		sess.stored = append(left, sess.stored...)
		if over := len(sess.stored) - s.opts.MaxQueued; over > 0 {
			s.stats.dropped.Add(uint64(over))
			sess.stored = sess.stored[:s.opts.MaxQueued]
		}
		sess.timer = s.afterFunc(sess.expiry, func() { s.expire(sess) })
	}
	sess.mu.Unlock()
	if ended {
		for _, sub := range endSubs {
			s.index.remove(sub)
		}
		s.forget(sess)
	}
}

// expire ends a persistent session whose expiry passed while offline.
func (s *Server) expire(sess *session) {
	sess.mu.Lock()
	if sess.ended || sess.conn != nil {
		sess.mu.Unlock()
		return
	}
	sess.ended = true
	subs := sess.subs
	sess.subs, sess.stored = nil, nil
	sess.mu.Unlock()
	for _, sub := range subs {
		s.index.remove(sub)
	}
	s.forget(sess)
}

// forget removes an ended session from the client-ID map.
func (s *Server) forget(sess *session) {
	s.sessMu.Lock()
	if s.sessions[sess.clientID] == sess {
		delete(s.sessions, sess.clientID)
	}
	s.sessMu.Unlock()
}

// timer is a pending session expiry or delayed will.
type timer struct {
	srv *Server
	t   *time.Timer
}

// Stop cancels the timer if it has not fired.
func (t *timer) Stop() {
	if t == nil {
		return
	}
	t.srv.mu.Lock()
	_, pending := t.srv.pending[t]
	delete(t.srv.pending, t)
	t.srv.mu.Unlock()
	if pending && t.t.Stop() {
		t.srv.timers.Done()
	}
}

// afterFunc runs f after d unless the timer is stopped or the server
// closes first.
func (s *Server) afterFunc(d time.Duration, f func()) *timer {
	t := &timer{srv: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return t
	}
	s.timers.Add(1)
	s.pending[t] = struct{}{}
	t.t = time.AfterFunc(d, func() {
		defer s.timers.Done()
		s.mu.Lock()
		_, pending := s.pending[t]
		delete(s.pending, t)
		s.mu.Unlock()
		if pending {
			f()
		}
	})
	return t
}

// stopTimers cancels every pending timer and waits for running ones.
func (s *Server) stopTimers() {
	s.mu.Lock()
	pending := s.pending
	s.pending = map[*timer]struct{}{}
	s.mu.Unlock()
	for t := range pending {
		if t.t.Stop() {
			s.timers.Done()
		}
	}
	s.timers.Wait()
}

// deliver hands d to the session: to its connection when it has one
// (checking iot:Receive and the rate), else to its store when persistent
// and QoS 1.
func (sess *session) deliver(d delivery) {
	s := sess.srv
	for range 3 {
		sess.mu.Lock()
		if sess.ended {
			sess.mu.Unlock()
			return
		}
		c := sess.conn
		if c == nil {
			if d.qos > 0 && sess.expiry > 0 {
				if len(sess.stored) < s.opts.MaxQueued {
					sess.stored = append(sess.stored, d)
				} else {
					s.stats.dropped.Add(1)
				}
			}
			sess.mu.Unlock()
			return
		}
		sess.mu.Unlock()
		if !s.allowDelivery(c, d.m) {
			return
		}
		if c.enqueue(d) {
			return
		}
	}
}

// allowDelivery applies the per-delivery checks: iot:Receive and the
// connection's publish rate.
func (s *Server) allowDelivery(c *Client, m *message) bool {
	if a := s.opts.Authorizer; a != nil && !a.AllowReceive(c, m.topic) {
		s.stats.deniedReceive.Add(1)
		return false
	}
	if !c.limit.allowPublish(s.now()) {
		s.stats.throttled.Add(1)
		return false
	}
	return true
}

// NewSessionID returns a fresh session identifier, a random UUID.
func NewSessionID() string { return newUUID() }
