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

// readLoop reads and handles packets until the connection ends.
func (c *Client) readLoop() {
	for {
		fh, body, err := readPacket(c.r)
		if err != nil {
			c.readFailed(err)
			return
		}
		now := c.srv.now()
		c.pushReadDeadline(now)
		if wait := c.limit.takeBytes(fh.Remaining+2, now); wait > 0 {
			c.srv.sleep(c, wait)
		}
		c.holdWrites()
		err = c.handleGuarded(fh, body)
		if c.r.Buffered() == 0 || err != nil {
			c.flush()
		}
		if err != nil {
			var pe *protocolError
			if errors.As(err, &pe) {
				c.Disconnect(pe.reason, pe.code)
			} else {
				c.closeSocket()
			}
			return
		}
	}
}

// readFailed sets the reason a read ended the connection.
func (c *Client) readFailed(err error) {
	switch {
	case errors.Is(err, errTooLarge):
		c.Disconnect(ReasonClientError, codePacketTooLarge)
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.Disconnect(ReasonKeepAliveTimeout, codeKeepAliveTimeout)
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, io.ErrUnexpectedEOF):
		c.setReason(ReasonConnectionLost)
	default:
		if _, ok := err.(packets.Code); ok {
			c.Disconnect(ReasonClientError, codeMalformed)
			return
		}
		c.setReason(ReasonConnectionLost)
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

// teardown ends a connection whose read loop returned: the socket is
// closed, the writers are waited for, the session is detached, the will
// published and the lifecycle told.
func (s *Server) teardown(c *Client) {
	c.out.mu.Lock()
	disconnecting := c.out.closeAfter
	c.out.mu.Unlock()
	if disconnecting {
		// A DISCONNECT is being written; Disconnect's timer bounds the wait.
		<-c.gone
	}
	c.closeSocket()
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
