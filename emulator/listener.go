package emulator

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// guardedListener is a mochi listener for mutual TLS that bounds how long a
// socket may take to finish the TLS handshake and send CONNECT: mochi sets no
// read deadline before CONNECT arrives, so an idle socket would otherwise be
// held open for ever. It sets a deadline on the raw connection; mochi replaces
// it with the keep-alive deadline once CONNECT is read.
type guardedListener struct {
	id             string
	ln             net.Listener
	tlsConfig      *tls.Config
	connectTimeout time.Duration
	// closeGrace bounds how long Close waits for clients to take their
	// DISCONNECT before it closes their sockets; 0 means defaultCloseGrace.
	closeGrace time.Duration
	log        *slog.Logger
	// disconnectAll, when set, replaces mochi's close function at Close:
	// mochi's takes its client map's read lock twice, recursively, and so
	// deadlocks with a client leaving at the same moment.
	disconnectAll func(listener string)

	end       atomic.Bool
	handshake atomic.Int64 // TLS handshakes that failed or timed out
	wg        sync.WaitGroup
	closeOnce sync.Once

	connsMu sync.Mutex
	conns   map[net.Conn]struct{} // every open socket, for Close
}

var _ listeners.Listener = (*guardedListener)(nil)

// Init keeps mochi's logger; the socket is already bound.
func (l *guardedListener) Init(log *slog.Logger) error {
	if l.log == nil {
		l.log = log
	}
	return nil
}

// ID returns the listener ID.
func (l *guardedListener) ID() string { return l.id }

// Address returns the bound address.
func (l *guardedListener) Address() string { return l.ln.Addr().String() }

// Protocol returns "tcp".
func (l *guardedListener) Protocol() string { return "tcp" }

// Serve accepts connections until Close, handshaking each on its own goroutine.
func (l *guardedListener) Serve(establish listeners.EstablishFn) {
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			if l.end.Load() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			l.log.Error("accept failed; listener stopped", "error", err)
			return
		}
		l.connsMu.Lock()
		if l.end.Load() {
			l.connsMu.Unlock()
			_ = conn.Close()
			return
		}
		if l.conns == nil {
			l.conns = map[net.Conn]struct{}{}
		}
		l.conns[conn] = struct{}{}
		l.wg.Add(1)
		l.connsMu.Unlock()
		go func() {
			defer l.wg.Done()
			l.serveConn(conn, establish)
		}()
	}
}

func (l *guardedListener) serveConn(conn net.Conn, establish listeners.EstablishFn) {
	defer l.forget(conn)
	_ = conn.SetDeadline(time.Now().Add(l.connectTimeout))
	tc := tls.Server(conn, l.tlsConfig)
	ctx, cancel := context.WithTimeout(context.Background(), l.connectTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		l.handshake.Add(1)
		l.log.Debug("TLS handshake failed", "remote", conn.RemoteAddr().String(), "error", err)
		_ = conn.Close()
		return
	}
	if err := establish(l.id, tc); err != nil {
		l.log.Debug("connection ended", "remote", conn.RemoteAddr().String(), "error", err)
	}
}

// forget drops a socket that has ended from the set Close closes.
func (l *guardedListener) forget(conn net.Conn) {
	l.connsMu.Lock()
	delete(l.conns, conn)
	l.connsMu.Unlock()
}

// defaultCloseGrace is how long Close lets clients take their DISCONNECT.
const defaultCloseGrace = 3 * time.Second

// Close stops accepting, disconnects the clients through closeClients, closes
// every socket and waits for their goroutines. mochi writes each DISCONNECT
// under the client's write lock, which a write blocked on a client that
// stopped reading holds until the keep-alive deadline (up to 30 minutes);
// closing the sockets after closeGrace unblocks those writes, so Close
// never waits longer than that for a stuck client.
func (l *guardedListener) Close(closeClients listeners.CloseFn) {
	l.closeOnce.Do(func() {
		l.connsMu.Lock()
		l.end.Store(true)
		l.connsMu.Unlock()
		_ = l.ln.Close()
		disconnected := make(chan struct{})
		go func() {
			defer close(disconnected)
			if l.disconnectAll != nil {
				l.disconnectAll(l.id)
				return
			}
			closeClients(l.id)
		}()
		grace := l.closeGrace
		if grace <= 0 {
			grace = defaultCloseGrace
		}
		timer := time.NewTimer(grace)
		select {
		case <-disconnected:
		case <-timer.C:
			l.log.Warn("clients did not take their DISCONNECT in time; closing their sockets", "grace", grace)
		}
		timer.Stop()
		l.connsMu.Lock()
		for c := range l.conns {
			_ = c.Close()
		}
		l.connsMu.Unlock()
		<-disconnected
		l.wg.Wait()
	})
}
