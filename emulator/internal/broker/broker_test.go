package broker

import (
	"bufio"
	"bytes"
	"fmt"
	"net"

	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// recorder is a Lifecycle that keeps the disconnect reasons.
type recorder struct {
	reasons chan DisconnectReason
}

func (r *recorder) Connected(*Client)                          {}
func (r *recorder) ConnectFailed(*Client)                      {}
func (r *recorder) Subscribed(*Client, []string)               {}
func (r *recorder) Unsubscribed(*Client, []string)             {}
func (r *recorder) Disconnected(_ *Client, d DisconnectReason) { r.reasons <- d }

// startOn serves a broker over plain TCP on a loopback port with loops
// event loops (0: every connection on a goroutine of its own).
func startOn(t *testing.T, opts Options, loops int) (*Server, string) {
	t.Helper()
	return serveOn(t, opts, loops, nil)
}

// serveOn is startOn with the listener wrapped by wrap, when not nil.
func serveOn(t *testing.T, opts Options, loops int, wrap func(net.Listener) net.Listener) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	s := New(opts)
	s.keepAliveUnit = 10 * time.Millisecond
	s.loops = loops
	if err := s.Serve(ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, ln.Addr().String()
}

// dialPlain connects as client "ka" and sends CONNECT with keep-alive ka.
func dialPlain(t *testing.T, addr string, version byte, ka uint16) (net.Conn, *bufio.Reader) {
	t.Helper()
	return dialPlainAs(t, addr, "ka", version, ka)
}

// dialPlainAs connects as clientID and sends CONNECT with keep-alive ka.
func dialPlainAs(t *testing.T, addr, clientID string, version byte, ka uint16) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: version,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), ClientIdentifier: clientID, Keepalive: ka, Clean: true}}
	var b bytes.Buffer
	if err := pk.ConnectEncode(&b); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	fh, _, err := readPacket(r)
	if err != nil || fh.Type != packets.Connack {
		t.Fatalf("CONNACK: %v %v", fh, err)
	}
	return conn, r
}

// TestKeepAliveTimeoutAtOneAndAHalf checks that a client silent for 1.5
// keep-alives is disconnected (MQTT 5: DISCONNECT 0x8D) with the lifecycle
// reason MQTT_KEEP_ALIVE_TIMEOUT, and that PINGREQs keep it alive. The
// keep-alive unit is 10 ms here, so the AWS minimum of 30 s lasts 300 ms.
func TestKeepAliveTimeoutAtOneAndAHalf(t *testing.T) {
	forEachPath(t, func(t *testing.T, loops int) {
		rec := &recorder{reasons: make(chan DisconnectReason, 4)}
		_, addr := startOn(t, Options{Lifecycle: rec}, loops)
		conn, r := dialPlain(t, addr, 5, 30)
		// Pinging every 200 ms (two thirds of the keep-alive) keeps it up.
		for range 5 {
			time.Sleep(200 * time.Millisecond)
			if _, err := conn.Write([]byte{packets.Pingreq << 4, 0}); err != nil {
				t.Fatal(err)
			}
			if fh, _, err := readPacket(r); err != nil || fh.Type != packets.Pingresp {
				t.Fatalf("PINGRESP: %v %v", fh, err)
			}
		}
		start := time.Now()
		fh, body, err := readPacket(r)
		if err != nil || fh.Type != packets.Disconnect || len(body) == 0 || body[0] != codeKeepAliveTimeout {
			t.Fatalf("got %v %x %v, want DISCONNECT 0x8D", fh, body, err)
		}
		if d := time.Since(start); d < 440*time.Millisecond || d > 2*time.Second {
			t.Fatalf("disconnected after %v of silence, want 1.5 keep-alives (450 ms)", d)
		}
		select {
		case reason := <-rec.reasons:
			if reason != ReasonKeepAliveTimeout || reason.String() != "MQTT_KEEP_ALIVE_TIMEOUT" {
				t.Fatalf("reason %v", reason)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no Disconnected call")
		}
	})
}

// TestClientThatNeverReadsIsDisconnected checks that a client that stops
// reading is closed: it subscribes to its own topic and floods it, so what
// the broker owes it piles up; the broker stops reading from it while its
// writes wait, and once a write has waited WriteTimeout the connection is
// closed with CONNECTION_LOST. (A stuck subscriber fed by other clients
// fills its own bounded queue instead: TestFanoutOverloadDoesNotStallShadows
// in the emulator.)
func TestClientThatNeverReadsIsDisconnected(t *testing.T) {
	forEachPath(t, func(t *testing.T, loops int) {
		rec := &recorder{reasons: make(chan DisconnectReason, 4)}
		_, addr := startOn(t, Options{Lifecycle: rec, WriteTimeout: 300 * time.Millisecond}, loops)
		conn, r := dialPlain(t, addr, 4, 1200)
		var b bytes.Buffer
		sub := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, ProtocolVersion: 4, PacketID: 1,
			Filters: packets.Subscriptions{{Filter: "loop/x"}}}
		if err := sub.SubscribeEncode(&b); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write(b.Bytes()); err != nil {
			t.Fatal(err)
		}
		if fh, _, err := readPacket(r); err != nil || fh.Type != packets.Suback {
			t.Fatalf("SUBACK: %v %v", fh, err)
		}
		b.Reset()
		pub := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, ProtocolVersion: 4, TopicName: "loop/x",
			Payload: make([]byte, 64<<10)}
		if err := pub.PublishEncode(&b); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
		start := time.Now()
		for {
			if _, err := conn.Write(b.Bytes()); err != nil {
				break // the broker closed the connection
			}
		}
		select {
		case reason := <-rec.reasons:
			if reason != ReasonConnectionLost {
				t.Fatalf("reason %v, want CONNECTION_LOST", reason)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("disconnected after %v", d)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no Disconnected call")
		}
	})
}

// panicky is a Handler with a fault: a publish to "boom" panics.
type panicky struct{}

func (panicky) Published(_ *Client, topic string, _ []byte) {
	if topic == "boom" {
		panic("handler fault")
	}
}

// TestPanicInHandlingClosesOnlyThatConnection: a panic while a packet is
// handled closes that connection with SERVER_ERROR (MQTT 5: DISCONNECT
// 0x80; 3.1.1: the socket), and the broker goes on serving the others.
func TestPanicInHandlingClosesOnlyThatConnection(t *testing.T) {
	forEachPath(t, func(t *testing.T, loops int) { panicClosesOnlyThatConnection(t, loops) })
}

func panicClosesOnlyThatConnection(t *testing.T, loops int) {
	rec := &recorder{reasons: make(chan DisconnectReason, 4)}
	s, addr := startOn(t, Options{Lifecycle: rec, Handler: panicky{}}, loops)
	bystander, br := dialPlainAs(t, addr, "bystander", 5, 60)
	publish := func(conn net.Conn, version byte, topic string) {
		t.Helper()
		pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, ProtocolVersion: version,
			PacketID: 7, TopicName: topic, Payload: []byte("x")}
		var b bytes.Buffer
		if err := pk.PublishEncode(&b); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write(b.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	for _, version := range []byte{5, 4} {
		conn, r := dialPlainAs(t, addr, fmt.Sprintf("faulty-%d", version), version, 60)
		publish(conn, version, "boom")
		fh, body, err := readPacket(r)
		if err == nil && fh.Type == packets.Puback {
			// The PUBACK leaves before the Handler is called.
			fh, body, err = readPacket(r)
		}
		if version == 5 && (err != nil || fh.Type != packets.Disconnect || len(body) == 0 || body[0] != codeUnspecified) {
			t.Fatalf("MQTT 5: got %v %x %v, want DISCONNECT 0x80", fh, body, err)
		}
		if version == 4 && err == nil {
			t.Fatalf("MQTT 3.1.1: got %v, want the socket closed", fh)
		}
		select {
		case reason := <-rec.reasons:
			if reason != ReasonServerError || reason.String() != "SERVER_ERROR" {
				t.Fatalf("version %d: reason %v", version, reason)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("version %d: no Disconnected call", version)
		}
	}
	if got := s.Stats().ServerErrors; got != 2 {
		t.Errorf("ServerErrors %d, want 2", got)
	}
	publish(bystander, 5, "fine")
	if fh, _, err := readPacket(br); err != nil || fh.Type != packets.Puback {
		t.Fatalf("bystander after the faults: %v %v, want its PUBACK", fh, err)
	}
}
