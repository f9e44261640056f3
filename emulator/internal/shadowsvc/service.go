package shadowsvc

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadowload/shadowload/internal/latency"
	"github.com/shadowload/shadowload/shadow"
)

// Config configures a [Service]. The zero value is an in-memory service
// with AWS's document limits, no request limits and no added delay.
type Config struct {
	// DataDir is where shadows persist, under DataDir/shadows; "" keeps them
	// in memory only.
	DataDir string
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
	cost     int64
	maxToken int
	file     string

	store    *store
	sched    *scheduler
	rejected rejections

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
	s := &Service{
		pub:      pub,
		lim:      cfg.Limits,
		now:      cfg.Now,
		latency:  lat,
		stall:    stall,
		inFlight: cfg.InFlightPerConn,
		maxToken: cfg.Limits.MaxClientTokenBytes,
		store:    newStore(),
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
		s.file = stateFile(cfg.DataDir)
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	s.start = s.now()
	if !lat.IsZero() || !stall.IsZero() {
		s.sched = newScheduler(pub, s.elapsed)
	}
	return s, nil
}

// elapsed returns the time since the service's start in nanoseconds.
func (s *Service) elapsed() int64 { return int64(s.now().Sub(s.start)) }

// Handle processes one PUBLISH from c (nil: a publisher without connection
// limits). It returns false, doing nothing, when topic is not a shadow
// request topic, including the response topics (…/accepted and so on) when
// clients publish on them. The request is applied at once, in arrival order
// for its shadow; its responses are published before Handle returns unless
// Latency or Stall hold them, in which case the scheduler publishes them
// later and Handle does not wait. After Close, requests are dropped.
func (s *Service) Handle(c *Conn, topic string, payload []byte) bool {
	t, err := shadow.ParseTopic(topic)
	if err != nil || t.Kind != shadow.KindRequest {
		return false
	}
	if s.closed.Load() {
		return true
	}
	e := s.store.get(key{thing: t.Thing, name: t.Shadow})
	e.mu.Lock()
	defer e.mu.Unlock()
	// Close persists each shadow under its lock after setting closed, so a
	// request that gets here afterwards must not change anything.
	if s.closed.Load() {
		return true
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
	default:
		r.conn = c
		s.apply(e, t, &r, payload, now.Unix())
	}

	if s.sched == nil {
		r.publish(s.pub)
		r.conn.release()
		return true
	}
	due := s.stall.Release(s.stall.Release(time.Duration(at)) + s.latency.Draw(nil))
	r.due = max(int64(due), e.lastDue)
	e.lastDue = r.due
	s.sched.push(r)
	return true
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

// apply runs the request on the shadow and fills r with its responses.
func (s *Service) apply(e *entry, t shadow.Topic, r *response, payload []byte, now int64) {
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
		return
	}
	e.counts.accepted.Add(1)
	addReply(e, t, r, shadow.KindAccepted, res.Accepted)
	addReply(e, t, r, shadow.KindDocuments, res.Documents)
	addReply(e, t, r, shadow.KindDelta, res.Delta)
}

// Close stops the scheduler, dropping responses not yet published, waits
// for requests being handled, and writes every shadow to the data
// directory. Afterwards the service publishes nothing and drops requests.
// Calling Close again returns the first call's result.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.sched != nil {
			s.sched.shutdown()
		}
		s.closeErr = s.persist()
	})
	return s.closeErr
}
