package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Server is the broker. Create one with New and hand it a listener with
// Serve; Close ends it.
type Server struct {
	opts     Options
	index    *index
	retained retainedStore

	sessMu   sync.Mutex
	sessions map[string]*session

	mu      sync.Mutex
	ln      net.Listener
	sockets map[net.Conn]struct{}
	clients map[*Client]struct{}
	closing bool
	wg      sync.WaitGroup // the accept loop and every socket until it is torn down
	timers  sync.WaitGroup // delayed wills and session expiries pending or running
	pending map[*timer]struct{}

	// poller serves the admitted connections whose sockets it can take;
	// nil: every connection takes the portable path.
	poller *poller
	loops  int // event loops to start; 0 means none (tests)

	stats stats
	// keepAliveUnit is what one second of keep-alive lasts; tests shorten it.
	keepAliveUnit time.Duration
}

// stats are the broker's counters.
type stats struct {
	connected       atomic.Int64
	dropped         atomic.Uint64
	deniedReceive   atomic.Uint64
	throttled       atomic.Uint64
	expired         atomic.Uint64
	handshakeFailed atomic.Uint64
	serverErrors    atomic.Uint64
	// socketFull counts writes a socket did not take whole, so that the
	// rest waited for it to become writable.
	socketFull atomic.Uint64
}

// Stats is a snapshot of the broker's counters.
type Stats struct {
	// Connected is the number of connections past CONNACK.
	Connected int64
	// Dropped counts deliveries dropped because a connection's queue, or
	// an offline session's store, was full, or the client's Maximum Packet
	// Size was too small.
	Dropped uint64
	// DeniedReceive counts deliveries the Authorizer refused.
	DeniedReceive uint64
	// Throttled counts publishes over a connection's rate.
	Throttled uint64
	// Expired counts messages that expired before delivery.
	Expired uint64
	// HandshakeFailed counts sockets that failed or timed out in the TLS
	// handshake or before CONNECT.
	HandshakeFailed uint64
	// ServerErrors counts connections closed by a panic in the handling
	// of one of their packets (lifecycle reason SERVER_ERROR).
	ServerErrors uint64
}

// Stats returns the broker's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Connected:       s.stats.connected.Load(),
		Dropped:         s.stats.dropped.Load(),
		DeniedReceive:   s.stats.deniedReceive.Load(),
		Throttled:       s.stats.throttled.Load(),
		Expired:         s.stats.expired.Load(),
		HandshakeFailed: s.stats.handshakeFailed.Load(),
		ServerErrors:    s.stats.serverErrors.Load(),
	}
}

// New returns a broker configured by opts.
func New(opts Options) *Server {
	opts = opts.withDefaults()
	return &Server{
		opts:     opts,
		index:    newIndex(opts.HashMatchesDollar),
		sessions: map[string]*session{},
		sockets:  map[net.Conn]struct{}{},
		clients:  map[*Client]struct{}{},
		pending:  map[*timer]struct{}{},

		keepAliveUnit: time.Second,
		loops:         loopsFor(opts.EventLoops),
	}
}

// loopsFor is the number of event loops Options.EventLoops asks for.
func loopsFor(n int) int {
	switch {
	case n > 0:
		return n
	case n < 0:
		return 0
	}
	return defaultLoops()
}

func (s *Server) now() int64 { return s.opts.Now().UnixNano() }

// Serve accepts connections on ln until Close; it returns at once.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return errors.New("broker: Serve after Close")
	}
	if s.ln != nil {
		return errors.New("broker: already serving")
	}
	if s.loops > 0 {
		p, err := newPoller(s, s.loops)
		if err != nil && !errors.Is(err, errors.ErrUnsupported) {
			s.opts.Logger.Warn("no event loops; each connection reads on a goroutine of its own", "error", err)
		}
		s.poller = p
	}
	s.ln = ln
	s.wg.Add(1)
	go s.acceptLoop(ln)
	return nil
}

func (s *Server) acceptLoop(ln net.Listener) {
	defer s.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if !closing {
				s.opts.Logger.Error("accept failed; listener stopped", "error", err)
			}
			return
		}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			_ = nc.Close()
			return
		}
		s.sockets[nc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveSocket(nc)
	}
}

// serveSocket runs one socket's TLS handshake and CONNECT and hands the
// admitted connection to the poller (or, when the poller cannot take its
// socket, to a reader goroutine of its own). The handshake's deep stack
// ends with this goroutine.
func (s *Server) serveSocket(nc net.Conn) {
	deadline := time.Now().Add(s.opts.ConnectTimeout)
	_ = nc.SetDeadline(deadline)
	w := newWire(nc)
	var tc *tls.Conn
	var conn net.Conn = w
	if s.opts.TLS != nil {
		tc = tls.Server(w, s.opts.TLS)
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			s.stats.handshakeFailed.Add(1)
			s.opts.Logger.Debug("TLS handshake failed", "remote", nc.RemoteAddr().String(), "error", err)
			_ = nc.Close()
			s.forgetSocket(nc)
			s.wg.Done()
			return
		}
		conn = tc
	}
	c := s.connect(w, conn, tc)
	if c == nil {
		_ = nc.Close()
		s.forgetSocket(nc)
		s.wg.Done()
		return
	}
	if c.w.fd >= 0 {
		s.forgetSocket(nc)
		s.poller.add(c)
		return
	}
	go s.serveBlocking(c)
}

// forgetSocket drops a socket that has ended from the set Close closes.
func (s *Server) forgetSocket(nc net.Conn) {
	s.mu.Lock()
	delete(s.sockets, nc)
	s.mu.Unlock()
}

// addClient registers a connection past CONNACK; false once Close began.
func (s *Server) addClient(c *Client) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.clients[c] = struct{}{}
	s.stats.connected.Add(1)
	return true
}

func (s *Server) removeClient(c *Client) {
	s.mu.Lock()
	if _, ok := s.clients[c]; ok {
		delete(s.clients, c)
		s.stats.connected.Add(-1)
	}
	s.mu.Unlock()
}

// Close stops accepting, sends every MQTT 5 client DISCONNECT 0x8B
// (server shutting down) and closes every socket, after the close grace at
// the latest, and waits for the connections' goroutines. It returns within
// about the close grace however the clients behave.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closing = true
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	clients := make([]*Client, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	for _, c := range clients {
		c.Disconnect(ReasonServerInitiated, 0x8B)
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(s.opts.CloseGrace)
	select {
	case <-done:
	case <-t.C:
		s.opts.Logger.Warn("clients did not take their DISCONNECT in time; closing their sockets", "grace", s.opts.CloseGrace)
		s.mu.Lock()
		for nc := range s.sockets {
			_ = nc.Close()
		}
		clients = clients[:0]
		for c := range s.clients {
			clients = append(clients, c)
		}
		s.mu.Unlock()
		for _, c := range clients {
			c.closeSocket()
		}
		<-done
	}
	t.Stop()
	if s.poller != nil {
		s.poller.stop()
	}
	s.stopTimers()
	return err
}

// Addr returns the listener's address, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Publish publishes a message from the server itself (the shadow service,
// lifecycle events) at QoS 1: each subscriber gets it at the QoS it
// subscribed with. It never blocks on a socket and is safe from any
// goroutine; payload becomes the broker's.
func (s *Server) Publish(topic string, payload []byte) {
	m := &message{topic: topic, payload: payload, qos: 1}
	s.route(m, nil)
}

// HasSubscribers reports whether any subscription matches topic, so that a
// publisher can skip building a message nobody would receive.
func (s *Server) HasSubscribers(topic string) bool { return s.index.hasMatch(topic) }

// defaultLoops is the number of event loops: one per P but one, so that a
// P stays free for the goroutines that are not loops (commits, timers,
// handshakes, the collector) while the loops block in epoll_wait; none
// with a single P, which a blocked loop would hold from all of them.
func defaultLoops() int { return runtime.GOMAXPROCS(0) - 1 }
