package broker

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadowload/shadowload/internal/iotcore"
)

// Client is one MQTT connection past CONNECT. Its exported fields are set
// before any hook sees it and not changed afterwards, except State, which
// belongs to the hooks.
type Client struct {
	// ID is the client ID (assigned by the broker when CONNECT had none).
	ID string
	// Version is the protocol level: 4 (3.1.1) or 5.
	Version byte
	// SessionID identifies the client's session; a resumed session keeps it.
	SessionID string
	// Remote is the peer address.
	Remote net.Addr
	// TLS is the connection's TLS state holder; nil on plain TCP.
	TLS *tls.Conn
	// KeepAlive is the keep-alive in force, in seconds.
	KeepAlive uint16
	// State is the hooks' per-connection state.
	State any

	srv  *Server
	sess *session
	w    *wire
	// rd and wr are the connection's plaintext: the tls.Conn over w, or w
	// itself on plain TCP.
	rd    io.Reader
	wr    io.Writer
	r     *bufio.Reader // reads the CONNECT; nil once admitted
	will  *Will
	limit *limiter

	// Inbound state, owned by the connection's reader: its poller, or its
	// reader goroutine.
	aliases [iotcore.TopicAliasMaximum + 1]string
	// partial holds the start of a packet not yet complete, carried from
	// one read pass to the next.
	partial []byte
	// prepaid: the first packet of partial was charged to the byte rate
	// before the reader paused for it.
	prepaid bool
	// lastPacket is when the last packet was handled, in ns of the
	// server's clock: the keep-alive runs from it.
	lastPacket   int64
	readDeadline int64 // ns; when the read deadline was last pushed
	poll         pollState

	// Negotiated from CONNECT.
	window      int    // outbound QoS 1 in flight
	maxPacket   uint32 // client's Maximum Packet Size; 0 = none
	problemInfo bool   // reason strings allowed on acks

	out outbound

	reason    atomic.Uint32 // DisconnectReason, first one set wins
	closeOnce sync.Once
	gone      chan struct{} // closed with the socket
	shut      atomic.Bool   // gone is closed
	force     atomic.Pointer[time.Timer]
	// writers counts the goroutines that may still touch the connection
	// besides its reader: a paced replay, the portable path's writer.
	writers   sync.WaitGroup
	connected bool // Lifecycle.Connected was called
	// willOnClose: the client's DISCONNECT asked for its will (0x04).
	willOnClose bool
	// preventWill: the connection was ended with its will discarded.
	preventWill atomic.Bool
}

// v5 reports whether the client speaks MQTT 5.
func (c *Client) v5() bool { return c.Version == 5 }

// Server returns the server the client is connected to.
func (c *Client) Server() *Server { return c.srv }

// setReason records why the connection ends, unless a reason is set.
func (c *Client) setReason(r DisconnectReason) {
	c.reason.CompareAndSwap(0, uint32(r))
}

// closeSocket ends the network connection once: TLS's close_notify is
// offered to the socket without waiting, then the socket is shut down (a
// polled one; its poller closes the descriptor) or closed. It never
// blocks and may be called holding out.mu.
func (c *Client) closeSocket() {
	c.closeOnce.Do(func() {
		if c.w.fd >= 0 {
			if c.TLS != nil {
				_ = c.TLS.CloseWrite()
			}
			_, _, _ = c.w.sendFD()
			shutdownFD(c.w.fd)
		} else {
			_ = c.w.Conn.Close()
		}
		c.shut.Store(true)
		close(c.gone)
	})
}

// isGone reports whether closeSocket ran.
func (c *Client) isGone() bool { return c.shut.Load() }

// Disconnect ends the connection for reason: an MQTT 5 client is sent
// DISCONNECT with code first (and its socket is closed once that is
// written, or after the server's close grace); a 3.1.1 client's socket is
// closed at once. It does not wait.
func (c *Client) Disconnect(reason DisconnectReason, code byte) {
	c.setReason(reason)
	if !c.v5() || code == 0 {
		c.closeSocket()
		return
	}
	if !c.sendDisconnect(code) {
		c.closeSocket()
		return
	}
	// A client that stopped reading never takes its DISCONNECT.
	if t := time.AfterFunc(c.srv.opts.CloseGrace, c.closeSocket); !c.force.CompareAndSwap(nil, t) {
		t.Stop()
	}
}

// keepAliveGrace is how long the client may stay silent: 1.5 keep-alives.
func (c *Client) keepAliveGrace() time.Duration {
	return time.Duration(float64(c.KeepAlive) * iotcore.KeepAliveGrace * float64(c.srv.keepAliveUnit))
}

// pushReadDeadline extends the keep-alive deadline of a socket read in
// blocking reads: 1.5 keep-alives after the last packet. It moves the
// socket's deadline at most once a second, granting that second on top.
func (c *Client) pushReadDeadline(now int64) {
	unit := c.srv.keepAliveUnit
	if now-c.readDeadline < int64(unit) {
		return
	}
	c.readDeadline = now
	_ = c.w.SetReadDeadline(time.Unix(0, now).Add(c.keepAliveGrace() + unit))
}
