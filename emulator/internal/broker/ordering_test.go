package broker

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// kicker is a Handler that disconnects a client publishing to "kick", as
// DeleteConnection does from another goroutine.
type kicker struct{ s atomic.Pointer[Server] }

func (k *kicker) Published(c *Client, topic string, _ []byte) {
	if topic == "kick" {
		k.s.Load().DisconnectClient(c.ID, false, false)
	}
}

// TestNothingFollowsAServerDisconnect: a client disconnected while its
// packets are being handled gets nothing after the DISCONNECT, not even the
// answer to a packet that came in the same read.
func TestNothingFollowsAServerDisconnect(t *testing.T) {
	forEachPath(t, func(t *testing.T, loops int) {
		k := &kicker{}
		s, addr := startOn(t, Options{Handler: k}, loops)
		k.s.Store(s)
		c := dialRaw(t, addr, "kicked", 5, 0)
		b := encode(t, &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, ProtocolVersion: 5,
			TopicName: "kick", Payload: []byte("x")})
		b = append(b, packets.Pingreq<<4, 0)
		if _, err := c.conn.Write(b); err != nil {
			t.Fatal(err)
		}
		if fh, body := c.next(); fh.Type != packets.Disconnect || len(body) == 0 || body[0] != codeAdministrative {
			t.Fatalf("got %v %x, want DISCONNECT 0x98", fh, body)
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if fh, _, err := readPacket(c.r); err == nil {
			t.Fatalf("got %v after the DISCONNECT", fh)
		}
	})
}

// TestPacketsHeldWhileOutputWaitsAreHandled: a client resuming a session
// whose stored messages fill its socket sent a PINGREQ with its CONNECT;
// while output waits the broker reads nothing, and once the client has
// read what was waiting the PINGREQ, already read, is answered.
func TestPacketsHeldWhileOutputWaitsAreHandled(t *testing.T) {
	forEachPath(t, func(t *testing.T, loops int) {
		_, addr := serveOn(t, Options{ReplayPerSecond: -1}, loops, withSmallSendBuffers)
		first := sendConnect(t, addr, "resumer", 4, false, 0)
		if fh, _ := first.next(); fh.Type != packets.Connack {
			t.Fatalf("got %v, want CONNACK", fh)
		}
		first.subscribe("data/#", 1)
		if _, err := first.conn.Write([]byte{packets.Disconnect << 4, 0}); err != nil {
			t.Fatal(err)
		}
		pub := dialRaw(t, addr, "publisher", 4, 0)
		const stored = 200
		pub.publishMany("data/", stored, make([]byte, 4096))
		again := sendConnect(t, addr, "resumer", 4, false, 4096, packets.Pingreq<<4, 0)
		time.Sleep(200 * time.Millisecond) // the stored messages fill the socket
		for n := 0; ; n++ {
			fh, _ := again.next()
			if fh.Type == packets.Pingresp {
				return
			}
			if fh.Type != packets.Connack && fh.Type != packets.Publish {
				t.Fatalf("got %v, want the stored messages and a PINGRESP", fh)
			}
			if n > stored+1 {
				t.Fatalf("%d packets read and no PINGRESP", n)
			}
		}
	})
}
