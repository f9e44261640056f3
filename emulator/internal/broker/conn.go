package broker

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime/debug"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// protocolError ends a connection for a client fault: an MQTT 5 client is
// sent DISCONNECT with code.
type protocolError struct {
	code   byte
	reason DisconnectReason
}

func (e *protocolError) Error() string { return "protocol error" }

func fault(code byte) error { return &protocolError{code: code, reason: ReasonClientError} }

// readBuf is the size of the buffer a read pass reads into (each poller
// has one); a packet that does not fit gets a buffer of its own.
const readBuf = 32 << 10

// passEnd says how a read pass ended.
type passEnd struct {
	ended bool          // the input ended: the connection is closing
	pause time.Duration // the byte rate is spent: read again after pause
}

// readPass reads what the socket holds (a polled socket: one read(2),
// without waiting; otherwise one blocking read) and handles every complete
// packet, holding the acknowledgements and replies they cause so that they
// leave in one write at the end. The TLS layer is read until it has
// nothing more, as it may hold records of that read the poller cannot
// see. An incomplete packet is kept for the next pass. It runs on the
// connection's reader only.
func (c *Client) readPass(buf []byte) passEnd {
	data := c.inputBuffer(buf)
	c.w.canRead = true
	held := false
	var end passEnd
	var rerr error
	// A blocking read waits for new bytes: packets left from the last pass
	// (the CONNECT's read, a pause) are handled first.
	for c.w.fd >= 0 || !complete(data) {
		if len(data) == cap(data) {
			// Full: handle what is complete to make room, or give a
			// packet larger than the buffer one of its own.
			if !held {
				c.holdWrites()
				held = true
			}
			var k int
			k, end = c.handlePackets(data)
			data = data[:copy(data, data[k:])]
			if end.ended || end.pause > 0 {
				break
			}
			if len(data) == cap(data) {
				data = append(make([]byte, 0, 2*cap(data)), data...)
			}
		}
		n, err := c.rd.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err != nil {
			if err != errNoInput {
				rerr = err
			}
			break
		}
		if c.w.fd < 0 {
			break // one blocking read a pass
		}
	}
	if !end.ended && end.pause == 0 && len(data) > 0 {
		if !held {
			c.holdWrites()
			held = true
		}
		var k int
		k, end = c.handlePackets(data)
		data = data[k:]
	}
	if !end.ended && len(data) > 0 {
		c.keepPartial(data, buf)
	}
	if !end.ended && end.pause == 0 && rerr != nil {
		c.readFailed(rerr)
		end.ended = true
	}
	if held {
		c.flush()
	}
	return end
}

// inputBuffer returns the buffer a read pass reads into: buf, holding the
// bytes kept from the last pass, or, for a packet that does not fit in
// buf, a buffer of its own, made to the packet's size.
func (c *Client) inputBuffer(buf []byte) []byte {
	p := c.partial
	if len(p) == 0 {
		return buf[:0]
	}
	need := len(p)
	if fh, hdr, err := frame(p); err == nil && hdr > 0 {
		need = max(need, hdr+fh.Remaining)
	}
	if need <= cap(buf) {
		c.partial = nil
		return append(buf[:0], p...)
	}
	if need <= cap(p) {
		c.partial = nil
		return p
	}
	c.partial = nil
	return append(make([]byte, 0, need), p...)
}

// keepPartial keeps the start of an incomplete packet for the next pass:
// a copy when it sits in the pass's shared buffer, else its own buffer.
func (c *Client) keepPartial(data, buf []byte) {
	if cap(buf) > 0 && &data[:cap(data)][cap(data)-1] == &buf[:cap(buf)][cap(buf)-1] {
		c.partial = append([]byte(nil), data...)
		return
	}
	c.partial = data
}

// handlePackets handles the complete packets at the start of data and
// returns how many bytes they took. It stops early when the byte rate is
// spent (the packet it charged is handled after the pause) or the input
// ends.
func (c *Client) handlePackets(data []byte) (int, passEnd) {
	off := 0
	for {
		fh, body, n, err := nextPacket(data[off:])
		if err != nil {
			c.readFailed(err)
			return off, passEnd{ended: true}
		}
		if n == 0 {
			return off, passEnd{}
		}
		now := c.srv.now()
		if !c.prepaid {
			if wait := c.limit.takeBytes(n, now); wait > 0 {
				c.prepaid = true
				return off, passEnd{pause: wait}
			}
		}
		c.prepaid = false
		c.lastPacket = now
		off += n
		if err := c.handleGuarded(fh, body); err != nil {
			var pe *protocolError
			if errors.As(err, &pe) {
				c.Disconnect(pe.reason, pe.code)
			} else {
				c.closeSocket()
			}
			return off, passEnd{ended: true}
		}
	}
}

// readFailed ends the input after a failed read, with the reason and, for
// a client fault, the DISCONNECT it calls for.
func (c *Client) readFailed(err error) {
	switch {
	case errors.Is(err, errTooLarge):
		c.Disconnect(ReasonClientError, codePacketTooLarge)
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.Disconnect(ReasonKeepAliveTimeout, codeKeepAliveTimeout)
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, io.ErrUnexpectedEOF):
		c.setReason(ReasonConnectionLost)
		c.closeSocket()
	default:
		if _, ok := err.(packets.Code); ok {
			c.Disconnect(ReasonClientError, codeMalformed)
			return
		}
		c.setReason(ReasonConnectionLost)
		c.closeSocket()
	}
}

// handleGuarded handles one packet, and makes a panic in its handling (the
// broker's or a hook's) end this connection alone: logged with its stack,
// counted, and the client sent DISCONNECT 0x80 with the lifecycle reason
// SERVER_ERROR, while every other connection goes on.
func (c *Client) handleGuarded(fh packets.FixedHeader, body []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			c.srv.stats.serverErrors.Add(1)
			c.srv.opts.Logger.Error("panic while handling a packet; closing its connection",
				"client", c.ID, "packet", packets.PacketNames[fh.Type], "panic", v, "stack", string(debug.Stack()))
			err = &protocolError{code: codeUnspecified, reason: ReasonServerError}
		}
	}()
	return c.handle(fh, body)
}

// handle dispatches one packet.
func (c *Client) handle(fh packets.FixedHeader, body []byte) error {
	switch fh.Type {
	case packets.Publish:
		return c.onPublish(fh, body)
	case packets.Puback:
		pk := packets.Packet{FixedHeader: fh, ProtocolVersion: c.Version}
		if err := pk.PubackDecode(body); err != nil {
			return fault(codeMalformed)
		}
		c.acked(pk.PacketID)
		return nil
	case packets.Subscribe:
		return c.onSubscribe(fh, body)
	case packets.Unsubscribe:
		return c.onUnsubscribe(fh, body)
	case packets.Pingreq:
		c.sendCtrl(appendPingresp)
		return nil
	case packets.Disconnect:
		return c.onDisconnect(fh, body)
	case packets.Connect:
		return fault(codeProtocolError) // a second CONNECT
	}
	// PUBREC, PUBREL, PUBCOMP (QoS 2), AUTH and server-only packets.
	return fault(codeProtocolError)
}

// onDisconnect handles a client DISCONNECT.
func (c *Client) onDisconnect(fh packets.FixedHeader, body []byte) error {
	pk := packets.Packet{FixedHeader: fh, ProtocolVersion: c.Version}
	if err := pk.DisconnectDecode(body); err != nil {
		return fault(codeMalformed)
	}
	if c.v5() && len(body) > 0 {
		// The codec reads the reason code only when properties follow it.
		pk.ReasonCode = body[0]
	}
	if c.v5() && pk.Properties.SessionExpiryIntervalFlag {
		sess := c.sess
		sess.mu.Lock()
		if sess.expiry == 0 && pk.Properties.SessionExpiryInterval > 0 {
			sess.mu.Unlock()
			return fault(codeProtocolError)
		}
		sess.expiry = min(time.Duration(pk.Properties.SessionExpiryInterval)*time.Second, c.srv.opts.SessionExpiry)
		sess.mu.Unlock()
	}
	c.willOnClose = pk.ReasonCode == codeDisconnectWithWill && c.srv.opts.WillOnDisconnectWithWill && c.v5()
	c.setReason(ReasonClientInitiated)
	return errClosed
}

// teardown ends a connection whose socket is closed (or closing: a
// DISCONNECT being written is bounded by Disconnect's timer) and whose
// reader stopped: the other goroutines touching it are waited for, the
// session detached, the will published and the lifecycle told.
func (s *Server) teardown(c *Client) {
	<-c.gone
	if t := c.force.Load(); t != nil {
		t.Stop()
	}
	c.out.mu.Lock()
	c.out.ending = true
	c.out.mu.Unlock()
	c.writers.Wait()
	c.out.mu.Lock()
	c.out.closed = true
	c.out.mu.Unlock()
	s.detach(c)
	s.removeClient(c)
	reason := DisconnectReason(c.reason.Load())
	if reason == 0 {
		reason = ReasonConnectionLost
	}
	if c.will != nil && !c.preventWill.Load() && (reason.willPublished() || c.willOnClose) {
		s.publishWill(c)
	}
	if l := s.opts.Lifecycle; l != nil && c.connected {
		l.Disconnected(c, reason)
	}
}

// replay sends a resumed session's stored messages, paced at
// ReplayPerSecond, from a goroutine owned by the connection.
func (c *Client) replay(list []delivery) {
	rate := c.srv.opts.ReplayPerSecond
	if rate < 0 {
		for _, d := range list {
			c.redeliver(d)
		}
		return
	}
	c.writers.Add(1)
	go func() {
		defer c.writers.Done()
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		for i, d := range list {
			if i > 0 {
				select {
				case <-t.C:
				case <-c.gone:
					c.restore(list[i:])
					return
				}
			}
			c.redeliver(d)
		}
	}()
}

// redeliver sends a stored message unless it expired.
func (c *Client) redeliver(d delivery) {
	if d.m.expires != 0 && d.m.expires <= c.srv.now() {
		c.srv.stats.expired.Add(1)
		return
	}
	if !c.srv.allowDelivery(c, d.m) {
		return
	}
	if !c.enqueue(d) {
		c.sess.deliver(d)
	}
}

// restore gives messages not yet replayed back to the session.
func (c *Client) restore(list []delivery) {
	for _, d := range list {
		c.sess.deliver(d)
	}
}
