package mqttc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"
)

// testCA is a throw-away certificate authority for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
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
	return &testCA{cert: cert, key: key, pool: pool}
}

func (ca *testCA) issue(t *testing.T, cn string, server bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// gate lets a test decide how the test broker answers CONNECT.
type gate struct {
	mu     sync.Mutex
	closeC bool // close without CONNACK
	deny   bool // answer CONNACK 0x87
}

func (g *gate) set(closeC, deny bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closeC, g.deny = closeC, deny
}

func (g *gate) get() (closeC, deny bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closeC, g.deny
}

type fixture struct {
	ca, other *testCA
	addr      string
	hook      *gate
	client    tls.Certificate
}

// startBroker serves a minimal MQTT 5 broker over mutual TLS for the
// client's tests: it answers CONNECT as the gate says, grants every
// SUBSCRIBE, and echoes every PUBLISH back to its sender.
func startBroker(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{ca: newTestCA(t, "test CA"), other: newTestCA(t, "other CA"), hook: &gate{}}
	f.client = f.ca.issue(t, "device", false)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{f.ca.issue(t, "server", true)},
		ClientCAs:    f.ca.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				f.serve(conn)
			}()
		}
	}()
	return f
}

// serve answers one client until it disconnects.
func (f *fixture) serve(conn net.Conn) {
	r := bufio.NewReader(conn)
	send := func(pk packets.Packet) error {
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
		}
		if err == nil {
			_, err = conn.Write(b.Bytes())
		}
		return err
	}
	for {
		hb, err := r.ReadByte()
		if err != nil {
			return
		}
		pk := packets.Packet{ProtocolVersion: 5}
		if pk.FixedHeader.Decode(hb) != nil {
			return
		}
		n, _, err := packets.DecodeLength(r)
		if err != nil {
			return
		}
		pk.FixedHeader.Remaining = n
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		switch pk.FixedHeader.Type {
		case packets.Connect:
			closeC, deny := f.hook.get()
			switch {
			case closeC:
				return
			case deny:
				_ = send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ProtocolVersion: 5, ReasonCode: 0x87})
				return
			}
			err = send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ProtocolVersion: 5})
		case packets.Subscribe:
			if pk.SubscribeDecode(body) != nil {
				return
			}
			codes := make([]byte, len(pk.Filters))
			for i := range codes {
				codes[i] = 1
			}
			err = send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Suback}, ProtocolVersion: 5, PacketID: pk.PacketID, ReasonCodes: codes})
		case packets.Publish:
			if pk.PublishDecode(body) != nil {
				return
			}
			if pk.FixedHeader.Qos > 0 {
				if err = send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, ProtocolVersion: 5, PacketID: pk.PacketID}); err != nil {
					return
				}
			}
			err = send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, ProtocolVersion: 5, TopicName: pk.TopicName, Payload: pk.Payload})
		case packets.Disconnect:
			return
		}
		if err != nil {
			return
		}
	}
}

func (f *fixture) options() Options {
	return Options{Endpoint: f.addr, Certificate: f.client, Roots: f.ca.pool, ClientID: "device", Timeout: 5 * time.Second}
}

func TestDialConnectsAndRoundTripsPublish(t *testing.T) {
	f := startBroker(t)
	got := make(chan *paho.Publish, 1)
	opts := f.options()
	opts.OnPublish = func(p *paho.Publish) { got <- p }
	c, err := Dial(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Connack.ReasonCode != 0 {
		t.Fatalf("CONNACK reason %d", c.Connack.ReasonCode)
	}
	if v := c.ConnectionState().Version; v < tls.VersionTLS12 {
		t.Fatalf("TLS version %x", v)
	}
	ctx := context.Background()
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "a/b", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(ctx, &paho.Publish{Topic: "a/b", QoS: 1, Payload: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if string(p.Payload) != "hi" {
			t.Fatalf("payload %q", p.Payload)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no publish received")
	}
}

func TestDialErrorsNameTheCause(t *testing.T) {
	f := startBroker(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	_ = ln.Close()

	tests := []struct {
		name    string
		mutate  func(*Options)
		setup   func()
		is      error
		mention string
	}{
		{"unreachable endpoint", func(o *Options) { o.Endpoint = deadAddr }, nil, ErrUnreachable, "unreachable"},
		{"server from unknown CA", func(o *Options) { o.Roots = f.other.pool }, nil, ErrTLS, "unknown CA"},
		{"server name mismatch", func(o *Options) { o.ServerName = "example.invalid" }, nil, ErrTLS, "not valid for"},
		{"client certificate from another CA", func(o *Options) { o.Certificate = f.other.issue(t, "stranger", false) }, nil, ErrTLS, "client certificate"},
		{"CONNACK refusal", nil, func() { f.hook.set(false, true) }, ErrRefused, "0x87 Not authorized"},
		{"closed before CONNACK", nil, func() { f.hook.set(true, false) }, ErrClosed, "before CONNACK"},
		{"bad endpoint syntax", func(o *Options) { o.Endpoint = "no-port" }, nil, nil, "want host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			opts := f.options()
			if tt.mutate != nil {
				tt.mutate(&opts)
			}
			c, err := Dial(context.Background(), opts)
			if err == nil {
				_ = c.Close()
				t.Fatal("Dial succeeded")
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

func TestReasonStringNamesCodes(t *testing.T) {
	for code, want := range map[byte]string{0x87: "0x87 Not authorized", 0x8E: "0x8E Session taken over", 0x7F: "0x7F"} {
		if got := ReasonString(code); got != want {
			t.Errorf("ReasonString(%#x) = %q, want %q", code, got, want)
		}
	}
}
