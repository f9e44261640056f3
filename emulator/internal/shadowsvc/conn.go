package shadowsvc

import "sync/atomic"

// Conn is the per-connection state the service keeps: the number of shadow
// requests from that connection whose responses are not yet published. The
// zero value is ready to use; keep one per client connection and pass it to
// every [Service.Handle] call for that connection.
type Conn struct {
	inFlight atomic.Int64
}

// InFlight returns how many requests from the connection still await their
// responses.
func (c *Conn) InFlight() int { return int(c.inFlight.Load()) }

// acquire counts one more request in flight unless that would exceed limit
// (0 = unlimited), and reports whether it did.
func (c *Conn) acquire(limit int) bool {
	if c == nil {
		return true
	}
	n := c.inFlight.Add(1)
	if limit > 0 && n > int64(limit) {
		c.inFlight.Add(-1)
		return false
	}
	return true
}

// release ends one request counted by acquire.
func (c *Conn) release() {
	if c != nil {
		c.inFlight.Add(-1)
	}
}
