package broker

import "time"

// endInput stops reading from c: its input ended and the connection is
// closing.
func (c *Client) endInput() {
	o := &c.out
	o.mu.Lock()
	o.inputEnded = true
	c.pollChangedLocked()
	o.mu.Unlock()
}

// serveBlocking runs an admitted connection the poller cannot take (no
// epoll on this platform, or not a socket): a goroutine reads in blocking
// reads, the keep-alive a read deadline, and a writer goroutine runs while
// bytes wait for the socket.
func (s *Server) serveBlocking(c *Client) {
	defer s.wg.Done()
	buf := make([]byte, 0, 4096)
	c.pushReadDeadline(s.now())
	for {
		end := c.readPass(buf)
		if end.ended {
			break
		}
		if end.pause > 0 {
			s.sleep(c, end.pause)
		}
		c.pushReadDeadline(s.now())
	}
	c.endInput()
	s.teardown(c)
	s.forgetSocket(c.w.Conn)
}

// sleep waits d or until c's socket closes.
func (s *Server) sleep(c *Client, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.gone:
	}
}
