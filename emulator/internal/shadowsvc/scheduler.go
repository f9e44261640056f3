package shadowsvc

import (
	"sync"
	"time"

	"github.com/shadowload/shadowload/internal/hrtimer"
)

// message is one publish: a topic and its payload.
type message struct {
	topic   string
	payload []byte
}

// response is the set of publishes answering one request, due at one time.
type response struct {
	// due is when to publish, in nanoseconds since the service's start.
	due int64
	// seq orders responses due at the same time by their arrival.
	seq  uint64
	conn *Conn
	n    int
	msgs [3]message
}

// add appends a publish of payload on topic.
func (r *response) add(topic string, payload []byte) {
	r.msgs[r.n] = message{topic: topic, payload: payload}
	r.n++
}

// publish sends r's messages in order.
func (r *response) publish(pub Publisher) {
	for i := range r.n {
		pub.Publish(r.msgs[i].topic, r.msgs[i].payload)
	}
}

// scheduler publishes delayed responses when they fall due, from one
// goroutine, in order of due time and then arrival.
type scheduler struct {
	pub Publisher
	// clock returns the current time in nanoseconds since the service's start.
	clock func() int64

	mu       sync.Mutex
	heap     []response
	seq      uint64
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// newScheduler starts a scheduler publishing through pub.
func newScheduler(pub Publisher, clock func() int64) *scheduler {
	q := &scheduler{
		pub:   pub,
		clock: clock,
		wake:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go q.run()
	return q
}

// push queues r. Callers that need per-shadow order push under the shadow's
// lock, so that equal due times keep the arrival order.
func (q *scheduler) push(r response) {
	q.mu.Lock()
	q.seq++
	r.seq = q.seq
	q.heap = append(q.heap, r)
	first := q.up(len(q.heap)-1) == 0
	q.mu.Unlock()
	if first {
		q.poke()
	}
}

// poke makes the scheduler look at its queue again.
func (q *scheduler) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pending returns the number of queued responses.
func (q *scheduler) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.heap)
}

// shutdown stops the scheduler and waits for it; queued responses are
// dropped unpublished and their connections' in-flight counts released.
func (q *scheduler) shutdown() {
	q.stopOnce.Do(func() { close(q.stop) })
	<-q.done
	q.mu.Lock()
	for i := range q.heap {
		q.heap[i].conn.release()
	}
	q.heap = nil
	q.mu.Unlock()
}

// run is the scheduler goroutine.
func (q *scheduler) run() {
	defer close(q.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	precise := hrtimer.New()
	defer precise.Close()
	for {
		q.mu.Lock()
		if len(q.heap) == 0 {
			q.mu.Unlock()
			select {
			case <-q.wake:
				continue
			case <-q.stop:
				return
			}
		}
		wait := q.heap[0].due - q.clock()
		if wait <= 0 {
			r := q.pop()
			q.mu.Unlock()
			select {
			case <-q.stop:
				r.conn.release()
				return
			default:
			}
			r.publish(q.pub)
			r.conn.release()
			continue
		}
		q.mu.Unlock()
		if wait <= int64(finalStretch) {
			// The runtime's timers fire up to a millisecond late; the
			// last stretch is slept in short precise steps, looking at
			// the queue again after each.
			select {
			case <-q.stop:
				return
			default:
			}
			precise.Sleep(time.Duration(min(wait, int64(sleepStep))))
			continue
		}
		timer.Reset(time.Duration(wait) - finalStretch)
		select {
		case <-timer.C:
		case <-q.wake:
			timer.Stop()
		case <-q.stop:
			timer.Stop()
			return
		}
	}
}

// finalStretch is how long before a response is due the scheduler stops
// relying on the runtime's timer, whose wake-ups come up to about a
// millisecond late; sleepStep bounds each precise sleep within it.
const (
	finalStretch = 1500 * time.Microsecond
	sleepStep    = 250 * time.Microsecond
)

// less orders the heap by due time, then arrival.
func (q *scheduler) less(i, j int) bool {
	a, b := &q.heap[i], &q.heap[j]
	return a.due < b.due || (a.due == b.due && a.seq < b.seq)
}

// up restores the heap above index i and returns i's final position.
func (q *scheduler) up(i int) int {
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q.heap[i], q.heap[p] = q.heap[p], q.heap[i]
		i = p
	}
	return i
}

// pop removes and returns the earliest response.
func (q *scheduler) pop() response {
	top := q.heap[0]
	last := len(q.heap) - 1
	q.heap[0] = q.heap[last]
	q.heap[last] = response{}
	q.heap = q.heap[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(q.heap) {
			break
		}
		m := l
		if r := l + 1; r < len(q.heap) && q.less(r, l) {
			m = r
		}
		if !q.less(m, i) {
			break
		}
		q.heap[i], q.heap[m] = q.heap[m], q.heap[i]
		i = m
	}
	return top
}
