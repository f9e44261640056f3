//go:build linux

package broker

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// testTLS returns a server and a client TLS configuration sharing a fresh
// self-signed certificate.
func testTLS(t *testing.T) (*tls.Config, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool, ServerName: "localhost"}
}

// socketPair returns the two ends of a connected stream socket pair.
func socketPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) net.Conn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	return conn(fds[0]), conn(fds[1])
}

// captureConn keeps what is written to it while capturing, so that a test
// can send a client's TLS records in pieces of its choosing.
type captureConn struct {
	net.Conn
	capturing bool
	buf       bytes.Buffer
}

func (c *captureConn) Write(p []byte) (int, error) {
	if c.capturing {
		return c.buf.Write(p)
	}
	return c.Conn.Write(p)
}

// records returns the TLS records the client wrote while capturing.
func (c *captureConn) records(t *testing.T, client *tls.Conn, plain ...[]byte) [][]byte {
	t.Helper()
	c.capturing = true
	defer func() { c.capturing = false }()
	var out [][]byte
	for _, p := range plain {
		c.buf.Reset()
		if _, err := client.Write(p); err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(c.buf.Bytes()))
	}
	return out
}

// published is a Handler that records the topics published.
type published struct {
	mu     sync.Mutex
	topics []string
}

func (p *published) Published(_ *Client, topic string, _ []byte) {
	p.mu.Lock()
	p.topics = append(p.topics, topic)
	p.mu.Unlock()
}

func (p *published) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.topics)
}

// polledTLSClient sets up, over a socket pair, a TLS connection whose
// server side is an admitted Client with a polled socket (as the event
// loop holds it, but read passes are run by the test), and returns it with
// the client's tls.Conn, its capture and its raw socket.
func polledTLSClient(t *testing.T, h Handler) (*Client, *tls.Conn, *captureConn, net.Conn) {
	t.Helper()
	srvCfg, cliCfg := testTLS(t)
	srvSock, cliSock := socketPair(t)
	s := New(Options{Handler: h})
	w := newWire(srvSock)
	tc := tls.Server(w, srvCfg)
	capture := &captureConn{Conn: cliSock}
	cli := tls.Client(capture, cliCfg)
	errs := make(chan error, 1)
	go func() { errs <- tc.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	w.buffered = true
	fd, ok := pollFD(srvSock)
	if !ok {
		t.Fatal("the socket pair's end cannot be polled")
	}
	w.fd = fd
	t.Cleanup(func() { _ = syscall.Close(fd) })
	c := &Client{srv: s, w: w, rd: tc, wr: tc, TLS: tc, Version: 4, window: 10, gone: make(chan struct{})}
	c.sess = &session{srv: s, subs: map[string]*subscription{}, conn: c}
	return c, cli, capture, cliSock
}

func publishBytes(t *testing.T, topic string, id uint16) []byte {
	return encode(t, &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, ProtocolVersion: 4,
		TopicName: topic, Payload: []byte(`{"state":{"reported":{"n":1}}}`), PacketID: id})
}

// expectPubacks reads n PUBACKs from the client side, in order from id.
func expectPubacks(t *testing.T, cli *tls.Conn, id uint16, n int) {
	t.Helper()
	_ = cli.SetReadDeadline(time.Now().Add(5 * time.Second))
	var want []byte
	for i := range n {
		want = appendPuback(want, id+uint16(i), 0, false)
	}
	got := make([]byte, len(want))
	if _, err := readFull(cli, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %x (%v), want PUBACKs %x", got, err, want)
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := c.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// TestPartialTLSRecordIsKeptAcrossReadPasses checks the polled read path
// against input cut anywhere: a TLS record arriving in pieces (TLS keeps
// the partial record across its temporary error), an MQTT packet spread
// over two records (the broker keeps the partial packet), and several
// packets in one record, all handled in one pass and acknowledged in one
// write.
func TestPartialTLSRecordIsKeptAcrossReadPasses(t *testing.T) {
	h := &published{}
	c, cli, capture, raw := polledTLSClient(t, h)
	buf := make([]byte, 0, readBuf)
	pass := func(want int) {
		t.Helper()
		if end := c.readPass(buf); end.ended || end.pause != 0 {
			t.Fatalf("read pass ended: %+v", end)
		}
		if got := h.count(); got != want {
			t.Fatalf("%d packets handled, want %d", got, want)
		}
	}
	send := func(b []byte) {
		t.Helper()
		if _, err := raw.Write(b); err != nil {
			t.Fatal(err)
		}
	}

	// Nothing to read: the pass returns at once.
	pass(0)

	// One record in three pieces: its header cut, then its body cut.
	rec := capture.records(t, cli, publishBytes(t, "a/1", 1))[0]
	send(rec[:3])
	pass(0)
	send(rec[3:20])
	pass(0)
	send(rec[20:])
	pass(1)
	expectPubacks(t, cli, 1, 1)

	// One packet over two records.
	pk := publishBytes(t, "a/2", 2)
	recs := capture.records(t, cli, pk[:7], pk[7:])
	send(recs[0])
	pass(1)
	if len(c.partial) != 7 {
		t.Fatalf("kept %d bytes of the cut packet, want 7", len(c.partial))
	}
	send(recs[1])
	pass(2)
	expectPubacks(t, cli, 2, 1)

	// Three packets in one record and a fourth in another, sent at once.
	three := append(append(publishBytes(t, "a/3", 3), publishBytes(t, "a/4", 4)...), publishBytes(t, "a/5", 5)...)
	recs = capture.records(t, cli, three, publishBytes(t, "a/6", 6))
	send(append(recs[0], recs[1]...))
	pass(6)
	expectPubacks(t, cli, 3, 4)

	// The peer goes away in the middle of a record.
	rec = capture.records(t, cli, publishBytes(t, "a/7", 7))[0]
	send(rec[:10])
	pass(6)
	_ = raw.Close()
	if end := c.readPass(buf); !end.ended {
		t.Fatal("read pass after EOF did not end the input")
	}
	if r := DisconnectReason(c.reason.Load()); r != ReasonConnectionLost {
		t.Fatalf("reason %v, want CONNECTION_LOST", r)
	}
}

func TestEventLoopsOption(t *testing.T) {
	tests := []struct {
		option, want int
	}{
		{3, 3},
		{1, 1},
		{-1, 0},
		{0, runtime.GOMAXPROCS(0) - 1},
	}
	for _, tt := range tests {
		if got := loopsFor(tt.option); got != tt.want {
			t.Errorf("EventLoops %d: %d loops, want %d", tt.option, got, tt.want)
		}
	}
}
