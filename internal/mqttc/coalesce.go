package mqttc

import (
	"net"
	"sync"
)

// coalescingConn turns the several writes paho.golang makes for one packet
// (fixed header, variable header, properties, payload: a net.Buffers that a
// TLS connection cannot send as one) into one: paho holds the connection's
// lock (sync.Locker) around each packet, so every Write made under it is
// gathered and the whole packet leaves as one TLS record and one write(2)
// when the writer lets go. A failed write closes the connection, which the
// client's reader then reports, and fails every later write.
type coalescingConn struct {
	net.Conn
	mu  sync.Mutex
	buf []byte
	err error
}

// maxKeptBuffer bounds the write buffer a connection keeps between packets;
// a larger one (a big payload) is dropped after use.
const maxKeptBuffer = 16 << 10

func newCoalescingConn(c net.Conn) *coalescingConn { return &coalescingConn{Conn: c} }

// Lock starts a packet.
func (c *coalescingConn) Lock() { c.mu.Lock() }

// Unlock sends the packet gathered since Lock in one write.
func (c *coalescingConn) Unlock() {
	if len(c.buf) > 0 && c.err == nil {
		if _, err := c.Conn.Write(c.buf); err != nil {
			c.err = err
			_ = c.Conn.Close()
		}
	}
	if cap(c.buf) > maxKeptBuffer {
		c.buf = nil
	} else {
		c.buf = c.buf[:0]
	}
	c.mu.Unlock()
}

// Write gathers b into the packet being written; the caller holds the lock.
func (c *coalescingConn) Write(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	c.buf = append(c.buf, b...)
	return len(b), nil
}
