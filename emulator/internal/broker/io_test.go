package broker

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// paths are the two ways the broker serves a connection: its event loops,
// and a goroutine per connection (platforms without epoll, sockets the
// poller cannot take). On platforms without epoll both are the second.
var paths = []struct {
	name  string
	loops int
}{{"event loop", 1}, {"goroutine per connection", 0}}

// forEachPath runs f as a subtest on each path.
func forEachPath(t *testing.T, f func(t *testing.T, loops int)) {
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) { f(t, p.loops) })
	}
}

// smallSendBuffers makes the accepted sockets' send buffers small, so that
// a client that stops reading soon leaves the broker's writes waiting.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

func withSmallSendBuffers(ln net.Listener) net.Listener { return smallSendBuffers{ln} }

// rawClient is a minimal MQTT client over a plain socket.
type rawClient struct {
	t       testing.TB
	conn    net.Conn
	r       *bufio.Reader
	version byte
}

// dialRaw connects clientID with a clean session; rcvBuf > 0 shrinks the
// socket's receive buffer before it connects, so that what the broker
// sends soon fills it.
func dialRaw(t testing.TB, addr, clientID string, version byte, rcvBuf int) *rawClient {
	t.Helper()
	c := sendConnect(t, addr, clientID, version, true, rcvBuf)
	if fh, _ := c.next(); fh.Type != packets.Connack {
		t.Fatalf("%s: got %v, want CONNACK", clientID, fh)
	}
	return c
}

// sendConnect opens a socket (its receive buffer rcvBuf bytes when > 0)
// and sends CONNECT with then, in the same write, the bytes of extra; it
// does not wait for the CONNACK.
func sendConnect(t testing.TB, addr, clientID string, version byte, clean bool, rcvBuf int, extra ...byte) *rawClient {
	t.Helper()
	d := net.Dialer{}
	if rcvBuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = setRcvBuf(fd, rcvBuf)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	conn, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn), version: version}
	b := encode(t, &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: version,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), ClientIdentifier: clientID, Keepalive: 1200, Clean: clean}})
	if _, err := conn.Write(append(b, extra...)); err != nil {
		t.Fatal(err)
	}
	return c
}

// encode returns pk as the codec writes it.
func encode(t testing.TB, pk *packets.Packet) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&b)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&b)
	case packets.Publish:
		err = pk.PublishEncode(&b)
	case packets.Puback:
		err = pk.PubackEncode(&b)
	default:
		t.Fatalf("no encoder for %v", pk.FixedHeader.Type)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func (c *rawClient) send(pk *packets.Packet) {
	c.t.Helper()
	pk.ProtocolVersion = c.version
	if _, err := c.conn.Write(encode(c.t, pk)); err != nil {
		c.t.Fatal(err)
	}
}

// next reads the next packet, failing the test after 10 s.
func (c *rawClient) next() (packets.FixedHeader, []byte) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	fh, body, err := readPacket(c.r)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return fh, body
}

func (c *rawClient) subscribe(filter string, qos byte) {
	c.t.Helper()
	c.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1,
		Filters: packets.Subscriptions{{Filter: filter, Qos: qos}}})
	if fh, _ := c.next(); fh.Type != packets.Suback {
		c.t.Fatalf("got %v, want SUBACK", fh)
	}
}

func (c *rawClient) publish(topic string, payload []byte, qos byte, id uint16) {
	c.t.Helper()
	c.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos}, TopicName: topic,
		Payload: payload, PacketID: id})
}

// message reads the next packet, which must be a PUBLISH, and returns its
// topic and payload, acknowledging it at QoS 1.
func (c *rawClient) message() (string, []byte) {
	c.t.Helper()
	fh, body := c.next()
	if fh.Type != packets.Publish {
		c.t.Fatalf("got %v, want PUBLISH", fh)
	}
	pk := packets.Packet{FixedHeader: fh, ProtocolVersion: c.version}
	if err := pk.PublishDecode(body); err != nil {
		c.t.Fatal(err)
	}
	if fh.Qos > 0 {
		c.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID})
	}
	return pk.TopicName, pk.Payload
}

// publishMany publishes n messages of payload at QoS 1, to prefix0,
// prefix1…, waiting for each one's PUBACK.
func (c *rawClient) publishMany(prefix string, n int, payload []byte) {
	c.t.Helper()
	for i := range n {
		c.publish(prefix+strconv.Itoa(i), payload, 1, uint16(i+1))
		c.puback(uint16(i + 1))
	}
}

// puback reads the next packet, which must be the PUBACK of id.
func (c *rawClient) puback(id uint16) {
	c.t.Helper()
	fh, body := c.next()
	if fh.Type != packets.Puback || len(body) < 2 || uint16(body[0])<<8|uint16(body[1]) != id {
		c.t.Fatalf("got %v %x, want PUBACK %d", fh, body, id)
	}
}

// TestManyConnectionsPerLoopEachGetTheirOwn checks that connections
// sharing one event loop each get exactly what is sent to them, also after
// half of them went away and others took their descriptors and slots.
func TestManyConnectionsPerLoopEachGetTheirOwn(t *testing.T) {
	forEachPath(t, func(t *testing.T, loops int) {
		s, addr := startOn(t, Options{}, loops)
		const n = 120
		clients := make([]*rawClient, n)
		dial := func(i int) {
			clients[i] = dialRaw(t, addr, fmt.Sprintf("c%d", i), 4, 0)
			clients[i].subscribe(fmt.Sprintf("to/%d", i), 1)
		}
		check := func(round int) {
			t.Helper()
			// Each client sends to its neighbour; all sends first, so
			// that the loop sees many sockets ready at once.
			for i, c := range clients {
				c.publish(fmt.Sprintf("to/%d", (i+1)%n), fmt.Appendf(nil, "%d from %d", round, i), 1, uint16(round+1))
			}
			for i, c := range clients {
				// A client's PUBACK and the message to it may come in
				// either order.
				var got []string
				for range 2 {
					fh, body := c.next()
					switch fh.Type {
					case packets.Puback:
						got = append(got, "puback")
					case packets.Publish:
						pk := packets.Packet{FixedHeader: fh, ProtocolVersion: 4}
						if err := pk.PublishDecode(body); err != nil {
							t.Fatal(err)
						}
						c.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID})
						got = append(got, pk.TopicName+" "+string(pk.Payload))
					default:
						t.Fatalf("client %d got %v", i, fh)
					}
				}
				want := fmt.Sprintf("to/%d %d from %d", i, round, (i+n-1)%n)
				if got[0] != want && got[1] != want {
					t.Fatalf("client %d got %q, want %q and its PUBACK", i, got, want)
				}
			}
		}
		for i := range n {
			dial(i)
		}
		check(0)
		for i := 0; i < n; i += 2 {
			_ = clients[i].conn.Close()
		}
		waitFor(t, "the closed half to be torn down", func() bool { return s.Stats().Connected == n/2 })
		for i := 0; i < n; i += 2 {
			dial(i)
		}
		check(1)
		if st := s.Stats(); st.Dropped != 0 || st.Connected != n {
			t.Fatalf("stats %+v, want nothing dropped and %d connected", st, n)
		}
	})
}

// TestSlowReaderGetsEverythingOnceItReadsAgain checks a subscriber that
// stops reading until what the broker sends it no longer fits its socket:
// the rest waits (the event loop arms EPOLLOUT, or the writer goroutine
// blocks) while the publisher is acknowledged as usual, and once the
// subscriber reads again it gets every message, in order.
func TestSlowReaderGetsEverythingOnceItReadsAgain(t *testing.T) {
	forEachPath(t, func(t *testing.T, loops int) {
		s, addr := serveOn(t, Options{}, loops, withSmallSendBuffers)
		sub := dialRaw(t, addr, "slow", 4, 4096)
		sub.subscribe("big/#", 1)
		pub := dialRaw(t, addr, "pub", 4, 0)
		const n = 200
		payload := bytes.Repeat([]byte("x"), 8<<10)
		pub.publishMany("big/", n, payload)
		requireFullSocket(t, s, loops)
		for i := range n {
			topic, p := sub.message()
			if topic != fmt.Sprintf("big/%d", i) || len(p) != len(payload) {
				t.Fatalf("message %d: %s (%d bytes)", i, topic, len(p))
			}
		}
		if d := s.Stats().Dropped; d != 0 {
			t.Fatalf("dropped %d", d)
		}
	})
}

// TestPeerClosingDuringABlockedWriteIsTornDown checks that a subscriber
// whose socket is full and which then closes is torn down at once, as
// CONNECTION_LOST, long before the write time-out.
func TestPeerClosingDuringABlockedWriteIsTornDown(t *testing.T) {
	forEachPath(t, func(t *testing.T, loops int) {
		rec := &recorder{reasons: make(chan DisconnectReason, 4)}
		s, addr := serveOn(t, Options{Lifecycle: rec, WriteTimeout: time.Minute}, loops, withSmallSendBuffers)
		sub := dialRaw(t, addr, "slow", 4, 4096)
		sub.subscribe("big/#", 0)
		pub := dialRaw(t, addr, "pub", 4, 0)
		payload := bytes.Repeat([]byte("x"), 8<<10)
		pub.publishMany("big/", 100, payload)
		requireFullSocket(t, s, loops)
		start := time.Now()
		_ = sub.conn.Close()
		select {
		case reason := <-rec.reasons:
			if reason != ReasonConnectionLost {
				t.Fatalf("reason %v, want CONNECTION_LOST", reason)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no Disconnected call")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("torn down after %v", d)
		}
		// The publisher is unaffected.
		pub.publish("big/after", payload, 1, 1000)
		pub.puback(1000)
		waitFor(t, "one connection left", func() bool { return s.Stats().Connected == 1 })
	})
}

// TestCloseIsBoundedWithABlockedWriter checks that Close returns within
// about the close grace while a client that stopped reading has bytes
// waiting for its socket.
func TestCloseIsBoundedWithABlockedWriter(t *testing.T) {
	forEachPath(t, func(t *testing.T, loops int) {
		s, addr := serveOn(t, Options{CloseGrace: 200 * time.Millisecond, WriteTimeout: time.Minute}, loops, withSmallSendBuffers)
		sub := dialRaw(t, addr, "slow", 5, 4096)
		sub.subscribe("big/#", 0)
		pub := dialRaw(t, addr, "pub", 4, 0)
		payload := bytes.Repeat([]byte("x"), 8<<10)
		pub.publishMany("big/", 100, payload)
		requireFullSocket(t, s, loops)
		start := time.Now()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("Close took %v with a close grace of 200ms", d)
		}
		if c := s.Stats().Connected; c != 0 {
			t.Fatalf("%d still connected after Close", c)
		}
	})
}

// TestByteRatePausesReadingAndResumes checks BytesPerSecond on the read
// side: a client sending faster than its byte rate has its packets handled
// late, not dropped, and every one acknowledged in order.
func TestByteRatePausesReadingAndResumes(t *testing.T) {
	forEachPath(t, func(t *testing.T, loops int) {
		_, addr := startOn(t, Options{BytesPerSecond: 4000}, loops)
		c := dialRaw(t, addr, "rated", 4, 0)
		payload := bytes.Repeat([]byte("x"), 1000)
		start := time.Now()
		// The bucket holds one second (4000 bytes), already partly spent
		// by the CONNECT: 10 publishes of about 1 KB owe about 1.5 s.
		for i := range 10 {
			c.publish("rate/t", payload, 1, uint16(i+1))
		}
		for i := range 10 {
			c.puback(uint16(i + 1))
		}
		if d := time.Since(start); d < time.Second || d > 5*time.Second {
			t.Fatalf("10 KB at 4 KB/s took %v, want about 1.5 s", d)
		}
	})
}

// requireFullSocket fails the test unless a socket on the event loop did
// not take a write whole: without it the test proves nothing.
func requireFullSocket(t *testing.T, s *Server, loops int) {
	t.Helper()
	if loops > 0 && runtime.GOOS == "linux" && s.stats.socketFull.Load() == 0 {
		t.Fatal("no write waited for a full socket")
	}
}

// waitFor polls cond until it holds, failing after 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
