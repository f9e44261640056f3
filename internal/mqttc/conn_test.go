package mqttc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"
)

func pahoPublish(topic string, payload []byte) *paho.Publish {
	return &paho.Publish{Topic: topic, QoS: 1, Payload: payload}
}

// peer is a scripted MQTT server over mutual TLS for Conn's tests: each
// connection it accepts is handed to the test, which reads and writes its
// packets one by one.
type peer struct {
	f     *fixture
	ln    net.Listener
	conns chan *peerConn
}

// peerConn is the server side of one connection.
type peerConn struct {
	t       *testing.T
	c       net.Conn
	r       *bufio.Reader
	version byte
}

func startPeer(t *testing.T) *peer {
	t.Helper()
	f := &fixture{ca: newTestCA(t, "test CA"), other: newTestCA(t, "other CA"), hook: &gate{}}
	f.client = f.ca.issue(t, "device", false)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{f.ca.issue(t, "server", true)},
		ClientCAs:    f.ca.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	p := &peer{f: f, ln: ln, conns: make(chan *peerConn, 4)}
	var wg sync.WaitGroup
	var open []net.Conn
	var mu sync.Mutex
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range open {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				// Only a connection whose handshake succeeded reaches
				// the test.
				if c.(*tls.Conn).Handshake() == nil {
					p.conns <- &peerConn{t: t, c: c, r: bufio.NewReader(c)}
				}
			}()
		}
	}()
	return p
}

// options are ConnOptions aimed at the peer.
func (p *peer) options(version byte) ConnOptions {
	return ConnOptions{Endpoint: p.f.addr, Certificate: p.f.client, Roots: p.f.ca.pool, ClientID: "device", Version: version, Timeout: 5 * time.Second}
}

// dial connects to the peer while the peer accepts: it answers CONNECT
// with connack (nil: a plain success) and returns both ends.
func (p *peer) dial(t *testing.T, opts ConnOptions, connack func(pc *peerConn, connect packets.Packet)) (*Conn, *peerConn) {
	t.Helper()
	type result struct {
		c   *Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := DialConn(context.Background(), opts)
		done <- result{c, err}
	}()
	var pc *peerConn
	select {
	case pc = <-p.conns:
	case <-time.After(10 * time.Second):
		t.Fatal("the client never connected")
	}
	connect := pc.read()
	if connect.FixedHeader.Type != packets.Connect {
		t.Fatalf("first packet %s, want CONNECT", packets.PacketNames[connect.FixedHeader.Type])
	}
	if connack == nil {
		pc.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}})
	} else {
		connack(pc, connect)
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	t.Cleanup(func() { _ = res.c.Drop() })
	return res.c, pc
}

// read reads and decodes one packet from the client.
func (pc *peerConn) read() packets.Packet {
	pc.t.Helper()
	hb, err := pc.r.ReadByte()
	if err != nil {
		pc.t.Fatalf("peer read: %v", err)
	}
	pk := packets.Packet{ProtocolVersion: pc.version}
	if err := pk.FixedHeader.Decode(hb); err != nil {
		pc.t.Fatal(err)
	}
	n, _, err := packets.DecodeLength(pc.r)
	if err != nil {
		pc.t.Fatal(err)
	}
	pk.FixedHeader.Remaining = n
	body := make([]byte, n)
	if _, err := io.ReadFull(pc.r, body); err != nil {
		pc.t.Fatal(err)
	}
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectDecode(body)
		pc.version = pk.ProtocolVersion
	case packets.Subscribe:
		err = pk.SubscribeDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	}
	if err != nil {
		pc.t.Fatalf("peer decode %s: %v", packets.PacketNames[pk.FixedHeader.Type], err)
	}
	return pk
}

// encode encodes a packet the server sends in the connection's protocol.
func (pc *peerConn) encode(pk packets.Packet) []byte {
	pc.t.Helper()
	pk.ProtocolVersion = pc.version
	var b bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackEncode(&b)
	case packets.Suback:
		err = pk.SubackEncode(&b)
	case packets.Puback:
		err = pk.PubackEncode(&b)
	case packets.Publish:
		err = pk.PublishEncode(&b)
	case packets.Pingresp:
		err = pk.PingrespEncode(&b)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&b)
	}
	if err != nil {
		pc.t.Fatal(err)
	}
	return b.Bytes()
}

// write sends packets in one write.
func (pc *peerConn) write(pks ...packets.Packet) {
	pc.t.Helper()
	var b []byte
	for _, pk := range pks {
		b = append(b, pc.encode(pk)...)
	}
	if _, err := pc.c.Write(b); err != nil {
		pc.t.Fatal(err)
	}
}

func publish(topic, payload string, qos byte, id uint16) packets.Packet {
	return packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos}, TopicName: topic, Payload: []byte(payload), PacketID: id}
}

// writeCounter counts the writes that reach the client's TCP socket.
type writeCounter struct {
	net.Conn
	n atomic.Int64
}

func (w *writeCounter) Write(b []byte) (int, error) {
	w.n.Add(1)
	return w.Conn.Write(b)
}

func TestConnSpeaksBothProtocols(t *testing.T) {
	for _, version := range []byte{MQTT311, MQTT5} {
		t.Run(map[byte]string{MQTT311: "3.1.1", MQTT5: "5"}[version], func(t *testing.T) {
			p := startPeer(t)
			got := make(chan string, 4)
			opts := p.options(version)
			opts.KeepAlive = 45 * time.Second
			opts.CleanStart = true
			opts.SessionExpiry = time.Hour
			opts.OnMessage = func(topic string, payload []byte) { got <- topic + " " + string(payload) }
			var connect packets.Packet
			c, pc := p.dial(t, opts, func(pc *peerConn, cp packets.Packet) {
				connect = cp
				pc.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}})
			})
			if connect.ProtocolVersion != version || !connect.Connect.Clean || connect.Connect.Keepalive != 45 || connect.Connect.ClientIdentifier != "device" {
				t.Errorf("CONNECT version %d clean %v keep-alive %d client %q", connect.ProtocolVersion, connect.Connect.Clean, connect.Connect.Keepalive, connect.Connect.ClientIdentifier)
			}
			if wantSEI := uint32(3600) * uint32(version-MQTT311); connect.Properties.SessionExpiryInterval != wantSEI {
				t.Errorf("Session Expiry Interval %d, want %d (MQTT 5 only)", connect.Properties.SessionExpiryInterval, wantSEI)
			}
			if c.SessionPresent() {
				t.Error("session present without the CONNACK flag")
			}

			subDone := make(chan error, 1)
			go func() { subDone <- c.Subscribe(context.Background(), 1, []string{"a/+", "b/#"}) }()
			sub := pc.read()
			if sub.FixedHeader.Type != packets.Subscribe || len(sub.Filters) != 2 || sub.Filters[1].Filter != "b/#" || sub.Filters[0].Qos != 1 {
				t.Fatalf("SUBSCRIBE %+v", sub.Filters)
			}
			pc.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Suback}, PacketID: sub.PacketID, ReasonCodes: []byte{1, 1}})
			if err := <-subDone; err != nil {
				t.Fatal(err)
			}

			if err := c.Publish("a/x", 1, []byte("up")); err != nil {
				t.Fatal(err)
			}
			pub := pc.read()
			if pub.TopicName != "a/x" || string(pub.Payload) != "up" || pub.FixedHeader.Qos != 1 || pub.PacketID == 0 {
				t.Fatalf("PUBLISH %q %q QoS %d id %d", pub.TopicName, pub.Payload, pub.FixedHeader.Qos, pub.PacketID)
			}
			pc.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pub.PacketID},
				publish("a/y", "down", 1, 7), publish("b/z", "zero", 0, 0))
			for _, want := range []string{"a/y down", "b/z zero"} {
				select {
				case g := <-got:
					if g != want {
						t.Errorf("delivered %q, want %q", g, want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("%q never delivered", want)
				}
			}
			if ack := pc.read(); ack.FixedHeader.Type != packets.Puback || ack.PacketID != 7 {
				t.Errorf("got %s %d, want the PUBACK of packet 7", packets.PacketNames[ack.FixedHeader.Type], ack.PacketID)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if d := pc.read(); d.FixedHeader.Type != packets.Disconnect {
				t.Errorf("Close sent %s, want DISCONNECT", packets.PacketNames[d.FixedHeader.Type])
			}
		})
	}
}

func TestConnWritesEachPacketOnceAndAcksABurstTogether(t *testing.T) {
	p := startPeer(t)
	var counter *writeCounter
	opts := p.options(MQTT5)
	opts.wrap = func(c net.Conn) net.Conn {
		counter = &writeCounter{Conn: c}
		return counter
	}
	got := make(chan struct{}, 8)
	opts.OnMessage = func(string, []byte) { got <- struct{}{} }
	c, pc := p.dial(t, opts, nil)
	before := counter.n.Load()
	payload := bytes.Repeat([]byte("x"), 2000)
	if err := c.Publish("a/b", 1, payload); err != nil {
		t.Fatal(err)
	}
	if n := counter.n.Load() - before; n != 1 {
		t.Errorf("a 2 kB PUBLISH took %d writes to the socket, want 1", n)
	}
	pub := pc.read()
	before = counter.n.Load()
	pc.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pub.PacketID},
		publish("a/1", "1", 1, 11), publish("a/2", "2", 1, 12), publish("a/3", "3", 1, 13))
	for i := 0; i < 3; i++ {
		<-got
	}
	var ids []uint16
	for len(ids) < 3 {
		ack := pc.read()
		ids = append(ids, ack.PacketID)
	}
	if ids[0] != 11 || ids[1] != 12 || ids[2] != 13 {
		t.Errorf("PUBACKs for %v, want 11, 12, 13", ids)
	}
	if n := counter.n.Load() - before; n != 1 {
		t.Errorf("three publishes read at once were acknowledged in %d writes, want 1", n)
	}
}

func TestPahoPacketsLeaveInOneWrite(t *testing.T) {
	// paho writes a packet as several buffers under the connection's lock;
	// the coalescing connection sends them as one write when it lets go.
	counter := &writeCounter{Conn: discardConn{}}
	conn := newCoalescingConn(counter)
	pub := pahoPublish("$aws/things/t/shadow/update", []byte(`{"state":{"reported":{"a":1}}}`))
	pub.PacketID = 1
	pub.Properties = &paho.PublishProperties{ContentType: "application/json"}
	if _, err := pub.Packet().WriteTo(conn); err != nil {
		t.Fatal(err)
	}
	if n := counter.n.Load(); n != 1 {
		t.Errorf("paho's PUBLISH took %d writes, want 1", n)
	}
}

// discardConn is a connection that takes every write.
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error) { return len(b), nil }
func (discardConn) Close() error                { return nil }

func TestConnSessionPresentAndStoredMessagesAfterConnack(t *testing.T) {
	for _, version := range []byte{MQTT311, MQTT5} {
		p := startPeer(t)
		got := make(chan string, 4)
		opts := p.options(version)
		opts.OnMessage = func(topic string, payload []byte) { got <- string(payload) }
		c, _ := p.dial(t, opts, func(pc *peerConn, _ packets.Packet) {
			// The stored message follows the CONNACK in the same write.
			pc.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, SessionPresent: true},
				publish("d/e", "stored", 1, 3))
		})
		if !c.SessionPresent() {
			t.Errorf("protocol %d: SessionPresent false after CONNACK with the flag", version)
		}
		select {
		case g := <-got:
			if g != "stored" {
				t.Errorf("delivered %q", g)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("protocol %d: the message sent with the CONNACK was lost", version)
		}
	}
}

func TestConnDialErrorsNameTheCause(t *testing.T) {
	p := startPeer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	_ = ln.Close()
	serve := func(answer func(pc *peerConn)) {
		go func() {
			select {
			case pc := <-p.conns:
				// Read CONNECT's first byte (the version does not
				// matter to a refusal) and the rest of what came.
				if _, err := pc.r.ReadByte(); err == nil {
					pc.version = MQTT5
					answer(pc)
				}
			case <-time.After(10 * time.Second):
			}
		}()
	}
	refuse := func(code byte, version byte) func(pc *peerConn) {
		return func(pc *peerConn) {
			pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ProtocolVersion: version, ReasonCode: code}
			var b bytes.Buffer
			_ = pk.ConnackEncode(&b)
			_, _ = pc.c.Write(b.Bytes())
		}
	}
	tests := []struct {
		name    string
		version byte
		mutate  func(*ConnOptions)
		answer  func(pc *peerConn)
		is      error
		mention string
	}{
		{"unreachable endpoint", MQTT5, func(o *ConnOptions) { o.Endpoint = deadAddr }, nil, ErrUnreachable, "unreachable"},
		{"server from unknown CA", MQTT5, func(o *ConnOptions) { o.Roots = p.f.other.pool }, nil, ErrTLS, "unknown CA"},
		{"client certificate from another CA", MQTT311, func(o *ConnOptions) { o.Certificate = p.f.other.issue(t, "stranger", false) }, nil, ErrTLS, "client certificate"},
		{"MQTT 5 CONNACK refusal", MQTT5, nil, refuse(0x87, MQTT5), ErrRefused, "0x87 Not authorized"},
		{"MQTT 3.1.1 CONNACK refusal", MQTT311, nil, refuse(5, MQTT311), ErrRefused, "return code 5 (not authorized)"},
		{"closed before CONNACK", MQTT311, nil, func(pc *peerConn) { _ = pc.c.Close() }, ErrClosed, "before CONNACK"},
		{"silent server", MQTT5, func(o *ConnOptions) { o.Timeout = 300 * time.Millisecond }, func(*peerConn) {}, context.DeadlineExceeded, "no CONNACK within 300ms"},
		{"bad protocol level", 3, nil, nil, nil, "protocol level 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.answer != nil {
				serve(tt.answer)
			}
			opts := p.options(tt.version)
			if tt.mutate != nil {
				tt.mutate(&opts)
			}
			c, err := DialConn(context.Background(), opts)
			if err == nil {
				_ = c.Drop()
				t.Fatal("DialConn succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("error %v: want errors.Is %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}

func TestConnServerDisconnectIsReportedWithItsReason(t *testing.T) {
	p := startPeer(t)
	lost := make(chan error, 1)
	opts := p.options(MQTT5)
	opts.OnLost = func(err error) { lost <- err }
	c, pc := p.dial(t, opts, nil)
	pc.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}, ReasonCode: 0x8E})
	select {
	case err := <-lost:
		if !strings.Contains(err.Error(), "0x8E Session taken over") {
			t.Errorf("OnLost(%v), want the reason named", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnLost was not called")
	}
	if err := c.Publish("a", 0, nil); !errors.Is(err, ErrConnClosed) {
		t.Errorf("Publish after the loss: %v, want ErrConnClosed", err)
	}
}

func TestConnCloseAndDropDoNotReportALoss(t *testing.T) {
	for _, drop := range []bool{false, true} {
		p := startPeer(t)
		var lost atomic.Int64
		opts := p.options(MQTT311)
		opts.OnLost = func(error) { lost.Add(1) }
		c, pc := p.dial(t, opts, nil)
		if drop {
			_ = c.Drop()
		} else {
			_ = c.Close()
		}
		_ = pc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := pc.r.ReadByte()
		switch {
		case drop && err == nil:
			t.Errorf("Drop sent a %s; want the socket closed without DISCONNECT", packets.PacketNames[b>>4])
		case !drop && (err != nil || b>>4 != packets.Disconnect):
			t.Errorf("Close: read %x, %v; want DISCONNECT", b, err)
		}
		<-c.done
		if n := lost.Load(); n != 0 {
			t.Errorf("drop %v: OnLost called %d times", drop, n)
		}
	}
}

func TestKeeperPingsAnIdleConnectionAndEndsASilentOne(t *testing.T) {
	p := startPeer(t)
	lost := make(chan error, 1)
	keeper := &Keeper{Every: 20 * time.Millisecond}
	opts := p.options(MQTT311)
	opts.KeepAlive = time.Second
	opts.Timeout = 300 * time.Millisecond
	opts.Keeper = keeper
	opts.OnLost = func(err error) { lost <- err }
	c, pc := p.dial(t, opts, nil)
	start := time.Now()
	if pk := pc.read(); pk.FixedHeader.Type != packets.Pingreq {
		t.Fatalf("got %s, want PINGREQ", packets.PacketNames[pk.FixedHeader.Type])
	}
	if idle := time.Since(start); idle > 1500*time.Millisecond {
		t.Errorf("first PINGREQ after %v of a 1s keep-alive", idle)
	}
	pc.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingresp}})
	// The next ping goes unanswered: the connection ends within the timeout
	// and the keeper's period.
	if pk := pc.read(); pk.FixedHeader.Type != packets.Pingreq {
		t.Fatalf("got %s, want a second PINGREQ", packets.PacketNames[pk.FixedHeader.Type])
	}
	select {
	case err := <-lost:
		if !strings.Contains(err.Error(), "no PINGRESP") {
			t.Errorf("OnLost(%v), want the missing PINGRESP named", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a server that stopped answering pings was not noticed")
	}
	_ = c
	keeper.mu.Lock()
	watched := len(keeper.conns)
	keeper.mu.Unlock()
	if watched != 0 {
		t.Errorf("the keeper still watches %d connections", watched)
	}
}

func TestKeeperEndsAWriteToAServerThatStoppedReading(t *testing.T) {
	p := startPeer(t)
	lost := make(chan error, 1)
	opts := p.options(MQTT5)
	opts.Timeout = 300 * time.Millisecond
	opts.Keeper = &Keeper{Every: 20 * time.Millisecond}
	opts.OnLost = func(err error) { lost <- err }
	c, _ := p.dial(t, opts, nil) // the peer never reads again
	payload := make([]byte, 100<<10)
	done := make(chan error, 1)
	go func() {
		for {
			if err := c.Publish("a/b", 0, payload); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write to a server that stopped reading never ended")
	}
	select {
	case err := <-lost:
		if !strings.Contains(err.Error(), "stopped reading") {
			t.Errorf("OnLost(%v), want the blocked write named", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnLost was not called")
	}
}

func TestConnPublishAllocatesNothing(t *testing.T) {
	p := startPeer(t)
	c, pc := p.dial(t, p.options(MQTT5), nil)
	go func() { _, _ = io.Copy(io.Discard, pc.r) }()
	payload := []byte(`{"state":{"reported":{"seq":1}},"clientToken":"a1"}`)
	topic := "$aws/things/sim-00001/shadow/update"
	allocs := testing.AllocsPerRun(200, func() {
		if err := c.Publish(topic, 0, payload); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 && !raceDetector {
		t.Errorf("Publish allocates %.1f times per message", allocs)
	}
}
