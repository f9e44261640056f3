package broker

import (
	"bufio"
	"crypto/tls"
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

	srv   *Server
	sess  *session
	nc    net.Conn
	r     *bufio.Reader
	will  *Will
	limit *limiter

	// Inbound state, owned by the reader goroutine.
	aliases      [iotcore.TopicAliasMaximum + 1]string
	readDeadline int64 // ns; when the read deadline was last pushed

	// Negotiated from CONNECT.
	window      int    // outbound QoS 1 in flight
	maxPacket   uint32 // client's Maximum Packet Size; 0 = none
	problemInfo bool   // reason strings allowed on acks

	out outbound

	reason    atomic.Uint32 // DisconnectReason, first one set wins
	closeOnce sync.Once
	gone      chan struct{} // closed with the socket
	force     atomic.Pointer[time.Timer]
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

// closeSocket closes the network connection once.
func (c *Client) closeSocket() {
	c.closeOnce.Do(func() {
		_ = c.nc.Close()
		close(c.gone)
	})
}

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

// pushReadDeadline extends the keep-alive deadline: 1.5 keep-alives after
// the last packet. It moves the socket's deadline at most once a second,
// granting that second on top.
func (c *Client) pushReadDeadline(now int64) {
	unit := c.srv.keepAliveUnit
	if now-c.readDeadline < int64(unit) {
		return
	}
	c.readDeadline = now
	grace := time.Duration(float64(c.KeepAlive)*iotcore.KeepAliveGrace*float64(unit)) + unit
	_ = c.nc.SetReadDeadline(time.Unix(0, now).Add(grace))
}
