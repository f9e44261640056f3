package emulator

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// rawClient speaks MQTT packet by packet over mutual TLS, for what the
// client libraries refuse to send (QoS 2, subscription identifiers, broken
// CONNECTs).
type rawClient struct {
	conn    *tls.Conn
	raw     net.Conn
	r       *bufio.Reader
	version byte // protocol level of the CONNECT sent; 5 until then
}

func dialRaw(t *testing.T, e *Emulator, id identity) *rawClient {
	t.Helper()
	raw, err := net.Dial("tcp", e.Addr())
	if err != nil {
		t.Fatal(err)
	}
	conn := tls.Client(raw, &tls.Config{Certificates: []tls.Certificate{id.cert}, RootCAs: e.CA().Pool(), ServerName: "localhost"})
	t.Cleanup(func() { _ = raw.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawClient{conn: conn, raw: raw, r: bufio.NewReader(conn)}
}

// send writes one packet.
func (c *rawClient) send(t *testing.T, pk packets.Packet) {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.conn.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// connect sends CONNECT for clientID and expects CONNACK success.
func (c *rawClient) connect(t *testing.T, version byte, clientID string) {
	t.Helper()
	c.version = version
	c.send(t, connectPacket(version, clientID))
	pk := c.read(t)
	if pk.FixedHeader.Type != packets.Connack || pk.ReasonCode != 0 {
		t.Fatalf("got %s code %#x, want CONNACK success", packets.PacketNames[pk.FixedHeader.Type], pk.ReasonCode)
	}
}

func connectPacket(version byte, clientID string) packets.Packet {
	return packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: version,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), ClientIdentifier: clientID, Keepalive: 60, Clean: true}}
}

// read reads and decodes one packet.
func (c *rawClient) read(t *testing.T) packets.Packet {
	t.Helper()
	pk, err := c.tryRead()
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

func (c *rawClient) tryRead() (packets.Packet, error) {
	pk := packets.Packet{ProtocolVersion: c.version}
	if pk.ProtocolVersion == 0 {
		pk.ProtocolVersion = 5
	}
	hb, err := c.r.ReadByte()
	if err != nil {
		return pk, err
	}
	if err := pk.FixedHeader.Decode(hb); err != nil {
		return pk, err
	}
	n, _, err := packets.DecodeLength(c.r)
	if err != nil {
		return pk, err
	}
	pk.FixedHeader.Remaining = n
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return pk, err
	}
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackDecode(body)
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	case packets.Suback:
		err = pk.SubackDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	}
	return pk, err
}

// expectClosed reads until the server closes the connection; it fails on
// any packet but a DISCONNECT carrying want (0: none allowed).
func (c *rawClient) expectClosed(t *testing.T, want byte) {
	t.Helper()
	for {
		pk, err := c.tryRead()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("connection still open")
			}
			return
		}
		if pk.FixedHeader.Type != packets.Disconnect || want == 0 || pk.ReasonCode != want {
			t.Fatalf("got %s code %#x before the close, want DISCONNECT %#x", packets.PacketNames[pk.FixedHeader.Type], pk.ReasonCode, want)
		}
	}
}
