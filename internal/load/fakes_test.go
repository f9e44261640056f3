package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/shadow"
)

// manualClock is a Clock that moves only when the test says. Every timer
// armed is announced on armed, so a test knows when a goroutine waits on it.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
	armed  chan time.Duration
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), armed: make(chan time.Duration, 1024)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) NewTimer(d time.Duration) Timer {
	t := &manualTimer{c: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	t.Reset(d)
	return t
}

// Advance moves the clock on by d and fires the timers that fall due.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		if t.armed && !t.at.After(c.now) {
			t.armed = false
			select {
			case t.ch <- c.now:
			default:
			}
		}
	}
}

type manualTimer struct {
	c     *manualClock
	ch    chan time.Time
	at    time.Time
	armed bool
}

func (t *manualTimer) C() <-chan time.Time { return t.ch }

func (t *manualTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	select {
	case <-t.ch:
	default:
	}
	t.at, t.armed = t.c.now.Add(d), true
	fire := d <= 0
	if fire {
		t.armed = false
		t.ch <- t.c.now
	}
	t.c.mu.Unlock()
	if !fire {
		t.c.armed <- d
	}
}

func (t *manualTimer) Stop() {
	t.c.mu.Lock()
	t.armed = false
	select {
	case <-t.ch:
	default:
	}
	t.c.mu.Unlock()
}

// waitArmed returns the duration of the next timer armed on the clock.
func (c *manualClock) waitArmed(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.armed:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no timer was armed")
		return 0
	}
}

// plainClock is the system clock without the precise sleeper: a synctest
// bubble's time is virtual, and a timerfd is not.
type plainClock struct{ systemClock }

// fakeTransport is an in-memory AWS IoT Core for the engine: a publish to a
// shadow request topic is applied to a shadow.Shadow, with the shadow
// package's real semantics, and answered on the same connection — at once on
// another goroutine, after delay, or when the test calls answer.
type fakeTransport struct {
	mu      sync.Mutex
	shadows map[string]*shadow.Shadow
	conns   map[string][]*fakeConn
	dials   map[string]int
	// dialErr, when set, decides each dial: attempt counts from 1 per client.
	dialErr func(clientID string, attempt int) error
	// manual holds requests until the test calls answer.
	manual bool
	// delay answers after this long on the system clock (a synctest bubble's
	// clock in the tests that run whole schedules).
	delay time.Duration
	// mute, when set, leaves the requests it picks unanswered.
	mute func(topic string) bool
	// refuse, when set, gives the code a request is rejected with instead
	// of being applied, or 0.
	refuse func(topic string) int
	// serving counts the requests being answered on goroutines of their own.
	serving sync.WaitGroup
	// sessions are the persistent sessions kept by client ID: what was
	// delivered while the client was away waits there for its return.
	sessions map[string]*fakeSession
}

// fakeSession is a persistent session the fake target keeps.
type fakeSession struct {
	queued []fakeMsg
}

func newFakeTransport() *fakeTransport {
	return &fakeTransport{shadows: map[string]*shadow.Shadow{}, conns: map[string][]*fakeConn{}, dials: map[string]int{}, sessions: map[string]*fakeSession{}}
}

func (f *fakeTransport) Dial(ctx context.Context, s Session) (Conn, error) {
	f.mu.Lock()
	f.dials[s.ClientID]++
	attempt := f.dials[s.ClientID]
	dialErr := f.dialErr
	f.mu.Unlock()
	if dialErr != nil {
		if err := dialErr(s.ClientID, attempt); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := &fakeConn{f: f, s: s}
	f.mu.Lock()
	f.conns[s.ClientID] = append(f.conns[s.ClientID], c)
	var queued []fakeMsg
	if sess := f.sessions[s.ClientID]; sess != nil && !s.CleanStart {
		c.present, queued, sess.queued = true, sess.queued, nil
	}
	if s.CleanStart {
		delete(f.sessions, s.ClientID)
	} else if f.sessions[s.ClientID] == nil {
		f.sessions[s.ClientID] = &fakeSession{}
	}
	f.mu.Unlock()
	if s.OnConnack != nil {
		s.OnConnack(c.present)
	}
	if len(queued) > 0 {
		// What the session kept follows the CONNACK.
		f.serving.Add(1)
		go func() {
			defer f.serving.Done()
			for _, m := range queued {
				c.deliver(m.topic, m.payload)
			}
		}()
	}
	return c, nil
}

// conn returns the latest connection of a client.
func (f *fakeTransport) conn(t *testing.T, clientID string) *fakeConn {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	cs := f.conns[clientID]
	if len(cs) == 0 {
		t.Fatalf("%s never connected", clientID)
	}
	return cs[len(cs)-1]
}

// forget drops a thing's classic shadow, as a target that lost its state.
func (f *fakeTransport) forget(thing string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.shadows, shadow.Prefix(thing, ""))
}

type fakeMsg struct {
	topic   string
	payload []byte
}

type fakeConn struct {
	f *fakeTransport
	s Session

	present bool // the session was resumed

	mu       sync.Mutex
	closed   bool
	dropped  bool // ended by Drop: no DISCONNECT
	subs     []string
	requests []fakeMsg // manual mode: not yet answered
	sent     []fakeMsg // every publish
}

func (c *fakeConn) Subscribe(_ context.Context, _ byte, filters []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs = append(c.subs, filters...)
	return nil
}

func (c *fakeConn) Publish(topic string, _ byte, payload []byte) error {
	m := fakeMsg{topic, append([]byte(nil), payload...)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errors.New("connection closed")
	}
	c.sent = append(c.sent, m)
	if c.f.manual {
		c.requests = append(c.requests, m)
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	if c.f.mute != nil && c.f.mute(topic) {
		return nil
	}
	c.f.serving.Add(1)
	if c.f.delay > 0 {
		time.AfterFunc(c.f.delay, func() {
			defer c.f.serving.Done()
			c.serve(m)
		})
		return nil
	}
	go func() {
		defer c.f.serving.Done()
		c.serve(m)
	}()
	return nil
}

func (c *fakeConn) SessionPresent() bool { return c.present }

func (c *fakeConn) Drop() error {
	c.mu.Lock()
	c.dropped = true
	c.mu.Unlock()
	return c.Close()
}

func (c *fakeConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return nil
}

// lose drops the connection from the target's side.
func (c *fakeConn) lose() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.s.OnLost(errors.New("connection reset"))
}

// pending returns the requests not yet answered (manual mode).
func (c *fakeConn) pending() []fakeMsg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]fakeMsg(nil), c.requests...)
}

// answer serves the k-th unanswered request (manual mode), in any order.
func (c *fakeConn) answer(k int) {
	c.mu.Lock()
	m := c.requests[k]
	c.requests = append(c.requests[:k], c.requests[k+1:]...)
	c.mu.Unlock()
	c.serve(m)
}

// serve applies a request to its shadow and delivers the replies.
func (c *fakeConn) serve(m fakeMsg) {
	tp, err := shadow.ParseTopic(m.topic)
	if err != nil || tp.Kind != shadow.KindRequest {
		return
	}
	if c.f.refuse != nil {
		if code := c.f.refuse(m.topic); code != 0 {
			req, _ := shadow.ParseReply(m.payload)
			c.deliver(tp.Reply(shadow.KindRejected).String(), shadow.AppendErrorDocument(nil, code, "refused", req.ClientToken))
			return
		}
	}
	key := shadow.Prefix(tp.Thing, tp.Shadow)
	c.f.mu.Lock()
	sh := c.f.shadows[key]
	if sh == nil {
		name := tp.Thing
		if tp.Shadow != "" {
			name = tp.Shadow
		}
		sh = &shadow.Shadow{Name: name}
		c.f.shadows[key] = sh
	}
	now := time.Now().Unix()
	var res shadow.Result
	switch tp.Op {
	case shadow.OpUpdate:
		res = sh.Update(m.payload, now, shadow.Limits{})
	case shadow.OpGet:
		res = sh.Get(m.payload, now, shadow.Limits{})
	default:
		res = sh.Delete(m.payload, now, shadow.Limits{})
	}
	c.f.mu.Unlock()
	if res.Code != 0 {
		c.deliver(tp.Reply(shadow.KindRejected).String(), res.Rejected)
		return
	}
	c.deliver(tp.Reply(shadow.KindAccepted).String(), res.Accepted)
	if res.Delta != nil {
		c.deliver(tp.Reply(shadow.KindDelta).String(), res.Delta)
	}
}

// deliver hands a message to the connection's subscriber, as the target
// would; a closed connection's persistent session keeps it for the
// client's return.
func (c *fakeConn) deliver(topic string, payload []byte) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if !closed {
		c.s.OnMessage(topic, payload)
		return
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	cs := c.f.conns[c.s.ClientID]
	if sess := c.f.sessions[c.s.ClientID]; sess != nil && cs[len(cs)-1] == c {
		sess.queued = append(sess.queued, fakeMsg{topic, payload})
	}
}

// testBundles names n things sim-0…, without certificates: the fake
// transport does not check identities.
func testBundles(n int) []fleet.Bundle {
	b := make([]fleet.Bundle, n)
	for i := range b {
		b[i].Thing = fmt.Sprintf("sim-%d", i)
	}
	return b
}
