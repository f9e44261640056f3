package shadowsvc

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadowload/shadowload/emulator/internal/shadowsvc/wal"
	"github.com/shadowload/shadowload/internal/latency"
	"github.com/shadowload/shadowload/shadow"
)

// closeWait bounds how long Close waits for requests being handled to
// publish their responses once everything is durable.
const closeWait = 5 * time.Second

// maxCommitting bounds the requests whose responses wait for their commit;
// beyond it Handle waits for room, which slows the connections sending
// them.
const maxCommitting = 1 << 16

// Config configures a [Service]. The zero value is an in-memory service
// with AWS's document limits, no request limits and no added delay.
type Config struct {
	// DataDir is where shadows persist, under DataDir/shadows; "" keeps them
	// in memory only.
	DataDir string
	// Durability says when an accepted change is durable: sync (the
	// default, ""), async or off; see the Durability constants. It only
	// matters with a DataDir.
	Durability Durability
	// SyncInterval bounds the time a written record stays unsynced with
	// DurabilityAsync; 0 means DefaultSyncInterval.
	SyncInterval time.Duration
	// CompactBytes is how much the log may grow beyond the last snapshot
	// (or beyond that snapshot's size, if larger) before the service writes
	// a new one; 0 means wal.DefaultCompactBytes.
	CompactBytes int64
	// Limits are the document limits passed to package shadow; zero fields
	// mean AWS's defaults.
	Limits shadow.Limits
	// RequestsPerSecond caps the requests on one shadow per second (a token
	// bucket holding one second of requests); beyond it requests are
	// rejected 429. 0 means unlimited.
	RequestsPerSecond int
	// InFlightPerConn caps the requests of one connection whose responses
	// are not yet published; beyond it requests are rejected 429. 0 means
	// unlimited.
	InFlightPerConn int
	// Latency delays every response; see [latency.Parse]. "" means none.
	Latency string
	// Stall pauses the service periodically; see [ParseStall]. "" means never.
	Stall string
	// Now is the clock; nil means time.Now. Timestamps in documents are its
	// Unix seconds.
	Now func() time.Time
}

// Service is the emulator's Device Shadow service. Its methods are safe for
// concurrent use.
type Service struct {
	pub      Publisher
	lim      shadow.Limits
	now      func() time.Time
	start    time.Time
	latency  latency.Dist
	stall    Stall
	inFlight int
	// cost is the rate limiter's price of one request in nanoseconds of
	// credit; 0 disables the limiter.
	cost       int64
	maxToken   int
	durability Durability

	store    *store
	sched    *scheduler
	rejected rejections
	// log keeps every accepted change when durability is on; nil without a
	// data directory.
	log         *wal.Log
	recovery    Recovery
	compactStop chan struct{}
	compactDone chan struct{}
	// lost counts responses dropped because their change could not be
	// logged.
	lost atomic.Uint64

	// committing holds the requests whose responses wait for their
	// commit, in the order they were handled, for the commit goroutine
	// (commitLoop) to publish once durable.
	committing []awaiting
	commitMu   sync.Mutex
	commitRoom *sync.Cond // signalled when committing shrinks
	commitKick chan struct{}
	commitStop chan struct{}

	// active counts Handle calls in progress and requests waiting for
	// their commit; idle receives when it drops to zero after Close began.
	// Close waits for them at most closeWait.
	active    atomic.Int64
	idle      chan struct{}
	closeWait time.Duration

	errMu sync.Mutex
	err   error

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// New validates cfg, loads the shadows persisted under cfg.DataDir and
// returns a running service publishing through pub.
func New(cfg Config, pub Publisher) (*Service, error) {
	if pub == nil {
		return nil, errors.New("shadowsvc: New: nil Publisher; want the broker's publisher")
	}
	if cfg.RequestsPerSecond < 0 {
		return nil, fmt.Errorf("shadowsvc: config RequestsPerSecond %d: want 0 (unlimited) or more", cfg.RequestsPerSecond)
	}
	if cfg.InFlightPerConn < 0 {
		return nil, fmt.Errorf("shadowsvc: config InFlightPerConn %d: want 0 (unlimited) or more", cfg.InFlightPerConn)
	}
	lat, err := latency.Parse(cfg.Latency)
	if err != nil {
		return nil, fmt.Errorf("shadowsvc: config Latency: %w", err)
	}
	stall, err := ParseStall(cfg.Stall)
	if err != nil {
		return nil, fmt.Errorf("shadowsvc: config Stall: %w", err)
	}
	durability, err := ParseDurability(string(cfg.Durability))
	if err != nil {
		return nil, fmt.Errorf("shadowsvc: config Durability: %w", err)
	}
	if cfg.CompactBytes < 0 {
		return nil, fmt.Errorf("shadowsvc: config CompactBytes %d: want 0 (the default) or more", cfg.CompactBytes)
	}
	if cfg.SyncInterval < 0 {
		return nil, fmt.Errorf("shadowsvc: config SyncInterval %v: want 0 (the default) or more", cfg.SyncInterval)
	}
	s := &Service{
		pub:        pub,
		lim:        cfg.Limits,
		now:        cfg.Now,
		latency:    lat,
		stall:      stall,
		inFlight:   cfg.InFlightPerConn,
		maxToken:   cfg.Limits.MaxClientTokenBytes,
		durability: durability,
		store:      newStore(),
		idle:       make(chan struct{}, 1),
		closeWait:  closeWait,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxToken <= 0 {
		s.maxToken = shadow.DefaultMaxClientTokenBytes
	}
	if cfg.RequestsPerSecond > 0 {
		s.cost = max(1, int64(time.Second)/int64(cfg.RequestsPerSecond))
	}
	if cfg.DataDir != "" {
		opts := wal.Options{SyncInterval: cfg.SyncInterval, CompactBytes: cfg.CompactBytes}
		if err := s.open(cfg.DataDir, opts); err != nil {
			return nil, err
		}
		s.compactStop, s.compactDone = make(chan struct{}), make(chan struct{})
		go s.compactLoop()
		if durability != DurabilityOff {
			s.commitRoom = sync.NewCond(&s.commitMu)
			s.commitKick, s.commitStop = make(chan struct{}, 1), make(chan struct{})
			go s.commitLoop()
		}
	}
	s.start = s.now()
	if !lat.IsZero() || !stall.IsZero() {
		s.sched = newScheduler(pub, s.elapsed)
	}
	return s, nil
}

// Recovered returns what New restored from the data directory.
func (s *Service) Recovered() Recovery { return s.recovery }

// Durability returns the durability setting the service runs with.
func (s *Service) Durability() Durability { return s.durability }

// Err returns the first failure to log or snapshot shadows, or nil. After
// a logging failure the service answers every request 500.
func (s *Service) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	if s.err == nil && s.log != nil {
		return s.log.Err()
	}
	return s.err
}

// setErr records a failure for Err and Close.
func (s *Service) setErr(err error) {
	s.errMu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.errMu.Unlock()
}

// elapsed returns the time since the service's start in nanoseconds.
func (s *Service) elapsed() int64 { return int64(s.now().Sub(s.start)) }

// Handle processes one PUBLISH from c (nil: a publisher without connection
// limits). It returns false, doing nothing, when topic is not a shadow
// request topic, including the response topics (…/accepted and so on) when
// clients publish on them. The request is applied at once, in arrival order
// for its shadow. An accepted change is logged, and no response revealing
// it is published before the log holds it durably (per Durability). Handle
// does not wait for that commit: when the responses can go at once it
// publishes them, and otherwise the service's commit goroutine publishes
// them once the commit is done (typically well under a few milliseconds),
// so that the caller's next requests join the same group commit. Handle
// waits only when maxCommitting requests already wait. No lock of the
// service is held while publishing. Responses of one shadow are published
// in the order their requests were applied, possibly by the goroutine
// handling another request on that shadow. With Latency or Stall the
// responses go to the scheduler instead, which publishes them later. After
// Close, requests are dropped.
func (s *Service) Handle(c *Conn, topic string, payload []byte) bool {
	t, err := shadow.ParseTopic(topic)
	if err != nil || t.Kind != shadow.KindRequest {
		return false
	}
	s.active.Add(1)
	defer s.leave()
	if s.closed.Load() {
		return true
	}
	e := s.lockEntry(key{thing: t.Thing, name: t.Shadow})
	commit, ok := s.handleLocked(e, c, t, payload)
	if !ok {
		return true
	}

	// Once this request's state is durable, every response before it on
	// this shadow is too; publish them all unless another goroutine is.
	if commit.Done() {
		s.drain(e)
	} else {
		s.await(commit, e)
	}
	return true
}

// handleLocked answers a request on shadow e, whose lock the caller took
// and which is released on return, a panic included (the broker survives a
// panic in a packet's handling, and a shadow left locked would stall every
// later request for it): the response is queued on e.out and the commit it
// waits for returned. ok is false when the service closed meanwhile.
func (s *Service) handleLocked(e *entry, c *Conn, t shadow.Topic, payload []byte) (commit wal.Ticket, ok bool) {
	defer e.mu.Unlock()
	// Close takes every shadow's lock after setting closed, before it
	// closes the log, so a request that gets here afterwards must not
	// change anything.
	if s.closed.Load() {
		return wal.Ticket{}, false
	}
	now := s.now()
	at := int64(now.Sub(s.start))
	e.counts.requests.Add(1)

	var r response
	switch {
	case !c.acquire(s.inFlight):
		e.counts.inFlightLimited.Add(1)
		s.tooManyRequests(e, t, &r, payload)
	case s.cost > 0 && !e.bucket.allow(at, s.cost):
		c.release()
		e.counts.rateLimited.Add(1)
		s.tooManyRequests(e, t, &r, payload)
	case s.log != nil && s.log.Err() != nil:
		r.conn = c
		s.internalFailure(e, t, &r, payload)
		// The rejection reveals nothing that waits for the log.
		e.logged = wal.Ticket{}
	default:
		r.conn = c
		if s.apply(e, t, &r, payload, now.Unix()) {
			s.logChange(e)
		}
	}

	if s.sched != nil {
		due := s.stall.Release(s.stall.Release(time.Duration(at)) + s.latency.Draw(nil))
		r.due = max(int64(due), e.lastDue)
		e.lastDue = r.due
	}
	commit = e.logged
	e.out = append(e.out, outgoing{r: r, commit: commit})
	return commit, true
}

// lockEntry returns the live entry of shadow k, locked: an entry removed
// from the store while this waited for its lock is passed over for the one
// that replaced it.
func (s *Service) lockEntry(k key) *entry {
	for {
		e := s.store.get(k)
		e.mu.Lock()
		if !e.removed {
			return e
		}
		e.mu.Unlock()
	}
}

// awaiting is a request whose responses wait for their commit.
type awaiting struct {
	commit wal.Ticket
	e      *entry
}

// await hands a request whose commit is pending to the commit goroutine.
func (s *Service) await(commit wal.Ticket, e *entry) {
	s.active.Add(1)
	s.commitMu.Lock()
	for len(s.committing) >= maxCommitting {
		s.commitRoom.Wait()
	}
	s.committing = append(s.committing, awaiting{commit: commit, e: e})
	first := len(s.committing) == 1
	s.commitMu.Unlock()
	if first {
		select {
		case s.commitKick <- struct{}{}:
		default:
		}
	}
}

// commitLoop is the commit goroutine: it waits for the oldest pending
// commit, then hands every request whose commit is done to a goroutine
// that publishes their responses, so that a publish that blocks holds back
// neither later commits nor other shadows' responses handed over later.
// Groups commit in order, so one wait covers the requests of that group
// and of the groups before it.
func (s *Service) commitLoop() {
	for {
		s.commitMu.Lock()
		for len(s.committing) == 0 {
			s.commitMu.Unlock()
			select {
			case <-s.commitKick:
			case <-s.commitStop:
				return
			}
			s.commitMu.Lock()
		}
		head := s.committing[0].commit
		s.commitMu.Unlock()
		_ = head.Wait()
		s.commitMu.Lock()
		var done []*entry
		kept := s.committing[:0]
		for _, a := range s.committing {
			if a.commit.Done() {
				done = append(done, a.e)
			} else {
				kept = append(kept, a)
			}
		}
		clear(s.committing[len(kept):])
		s.committing = kept
		s.commitRoom.Broadcast()
		s.commitMu.Unlock()
		go s.drainCommitted(done)
	}
}

// drainCommitted publishes the responses of requests whose commit is done.
func (s *Service) drainCommitted(done []*entry) {
	for _, e := range done {
		s.drain(e)
		s.leave()
	}
}

// leave ends a Handle call, telling a waiting Close when it was the last.
func (s *Service) leave() {
	if s.active.Add(-1) == 0 && s.closed.Load() {
		select {
		case s.idle <- struct{}{}:
		default:
		}
	}
}

// logChange appends the shadow's state after an accepted change to the
// log; the caller holds e.mu, so records of one shadow follow the order of
// its changes.
func (s *Service) logChange(e *entry) {
	if s.log == nil || s.durability == DurabilityOff {
		return
	}
	blob, err := e.sh.MarshalBinary()
	if err != nil {
		s.setErr(fmt.Errorf("shadowsvc: encode shadow %q of thing %q: %w", e.key.name, e.key.thing, err))
		e.logged = wal.Ticket{}
		return
	}
	rec := make([]byte, 0, len(e.key.thing)+len(e.key.name)+len(blob)+4)
	e.logged = s.log.Append(appendShadowRecord(rec, e.key, blob))
}

// internalFailure fills r with a 500 rejection: the log failed, so no
// change can be made durable.
func (s *Service) internalFailure(e *entry, t shadow.Topic, r *response, payload []byte) {
	s.rejected.add(500)
	doc := shadow.AppendErrorDocument(nil, 500, shadow.MsgInternalFailure, rejectionToken(payload, s.maxToken))
	addReply(e, t, r, shadow.KindRejected, doc)
}

// tooManyRequests fills r with the service's own 429 rejection of the
// request, echoing its clientToken.
func (s *Service) tooManyRequests(e *entry, t shadow.Topic, r *response, payload []byte) {
	s.rejected.add(429)
	doc := shadow.AppendErrorDocument(nil, 429, shadow.MsgTooManyRequests, rejectionToken(payload, s.maxToken))
	addReply(e, t, r, shadow.KindRejected, doc)
}

// addReply adds payload to r on request t's response topic of kind k,
// unless payload is nil.
func addReply(e *entry, t shadow.Topic, r *response, k shadow.Kind, payload []byte) {
	if payload != nil {
		r.add(e.topic(t, k), payload)
	}
}

// apply runs the request on the shadow, fills r with its responses and
// reports whether it changed the shadow (an accepted update or delete).
func (s *Service) apply(e *entry, t shadow.Topic, r *response, payload []byte, now int64) bool {
	var res shadow.Result
	switch t.Op {
	case shadow.OpGet:
		res = e.sh.Get(payload, now, s.lim)
	case shadow.OpUpdate:
		res = e.sh.Update(payload, now, s.lim)
	case shadow.OpDelete:
		res = e.sh.Delete(payload, now, s.lim)
	}
	if res.Rejected != nil {
		s.rejected.add(res.Code)
		addReply(e, t, r, shadow.KindRejected, res.Rejected)
		return false
	}
	e.counts.accepted.Add(1)
	addReply(e, t, r, shadow.KindAccepted, res.Accepted)
	addReply(e, t, r, shadow.KindDocuments, res.Documents)
	addReply(e, t, r, shadow.KindDelta, res.Delta)
	return t.Op != shadow.OpGet
}

// Close finishes in bounded time: it stops taking requests, makes every
// change already applied durable, lets the requests being handled publish
// their responses (waiting at most closeWait), stops the scheduler
// (dropping responses it still holds), and writes a snapshot of every
// shadow to the data directory so that the next start replays no log.
// Afterwards the service publishes nothing and drops requests. Calling
// Close again returns the first call's result.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		var errs []error
		if s.log != nil {
			close(s.compactStop)
			<-s.compactDone
		}
		// A request that saw closed unset holds its shadow's lock until
		// its change is applied and logged: taking every lock once waits
		// for those.
		s.store.each(func(e *entry) {
			e.mu.Lock()
			//lint:ignore SA2001 an empty critical section is the barrier
			e.mu.Unlock()
		})
		if s.log != nil {
			// The snapshot's rotation commits the last group, so the
			// requests waiting for it can publish.
			if s.log.Err() == nil {
				errs = append(errs, s.snapshot())
			}
			errs = append(errs, s.log.Close())
		}
		s.waitIdle()
		if s.commitStop != nil {
			close(s.commitStop)
		}
		if s.sched != nil {
			s.sched.shutdown()
		}
		s.errMu.Lock()
		errs = append(errs, s.err)
		s.errMu.Unlock()
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// waitIdle waits, at most closeWait, for the Handle calls in progress.
func (s *Service) waitIdle() {
	deadline := time.NewTimer(s.closeWait)
	defer deadline.Stop()
	for s.active.Load() > 0 {
		select {
		case <-s.idle:
		case <-deadline.C:
			return
		}
	}
}
