package shadowsvc

import "github.com/shadowload/shadowload/emulator/internal/shadowsvc/wal"

// outgoing is a response waiting in its shadow's outbox until the state it
// reveals is durable.
type outgoing struct {
	r      response
	commit wal.Ticket
}

// drain publishes, in order, the responses at the head of e's outbox whose
// state is durable, without holding e.mu while publishing. One goroutine
// drains a shadow at a time; a goroutine that finds another draining leaves
// its response to it, which looks at the outbox again after each batch.
// Once the outbox is empty, a shadow that never existed leaves the store.
func (s *Service) drain(e *entry) {
	e.mu.Lock()
	if e.draining {
		e.mu.Unlock()
		return
	}
	e.draining = true
	for len(e.out) > 0 && e.out[0].commit.Done() {
		o := e.out[0]
		n := copy(e.out, e.out[1:])
		e.out[n] = outgoing{}
		e.out = e.out[:n]
		e.mu.Unlock()
		s.send(&o)
		e.mu.Lock()
	}
	e.draining = false
	if len(e.out) == 0 && !e.sh.Exists() && e.sh.Version() == 0 && !e.removed {
		s.store.remove(e)
	}
	e.mu.Unlock()
}

// send publishes o's response, or hands it to the latency scheduler. A
// response whose record could not be logged is dropped: its change is not
// durable, so it must not be acknowledged.
func (s *Service) send(o *outgoing) {
	if err := o.commit.Wait(); err != nil {
		s.lost.Add(1)
		o.r.conn.release()
		return
	}
	if s.sched != nil {
		s.sched.push(o.r)
		return
	}
	o.r.publish(s.pub)
	o.r.conn.release()
}
