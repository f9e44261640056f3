package mqttc

import (
	"crypto/tls"
	"sync/atomic"
	"time"
)

// alertProbeConn is a TLS connection that, while CONNECT is being written,
// turns a failed write into the TLS alert the server sent before closing. With
// TLS 1.3 the client's handshake completes before the server has checked the
// client certificate, so a rejection surfaces only on the first write or read;
// without the probe a write would report just "broken pipe".
type alertProbeConn struct {
	*tls.Conn
	probing atomic.Bool
}

// Write writes b; during CONNECT a failed write is replaced by the server's
// pending TLS alert when there is one.
func (c *alertProbeConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err == nil || !c.probing.Load() {
		return n, err
	}
	_ = c.Conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	var one [1]byte
	_, rerr := c.Conn.Read(one[:])
	if isRemoteAlert(rerr) {
		return n, rerr
	}
	return n, err
}
