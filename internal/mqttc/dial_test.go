package mqttc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
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

// gateHook lets a test decide how the broker answers CONNECT.
type gateHook struct {
	mqtt.HookBase
	srv    *mqtt.Server
	closeC bool // close without CONNACK
	deny   bool // answer CONNACK 0x87
}

func (h *gateHook) ID() string { return "gate" }
func (h *gateHook) Provides(b byte) bool {
	return b == mqtt.OnConnect || b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}
func (h *gateHook) OnConnect(cl *mqtt.Client, _ packets.Packet) error {
	switch {
	case h.closeC:
		return errors.New("closed by test")
	case h.deny:
		_ = h.srv.SendConnack(cl, packets.ErrNotAuthorized, false, nil)
		return packets.ErrNotAuthorized
	}
	return nil
}
func (h *gateHook) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }
func (h *gateHook) OnACLCheck(*mqtt.Client, string, bool) bool              { return true }

type fixture struct {
	ca, other *testCA
	addr      string
	hook      *gateHook
	client    tls.Certificate
}

func startBroker(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{ca: newTestCA(t, "test CA"), other: newTestCA(t, "other CA")}
	f.client = f.ca.issue(t, "device", false)
	srv := mqtt.New(&mqtt.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	f.hook = &gateHook{srv: srv}
	if err := srv.AddHook(f.hook, nil); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	_ = ln.Close()
	l := listeners.NewTCP(listeners.Config{ID: "tls", Address: f.addr, TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{f.ca.issue(t, "server", true)},
		ClientCAs:    f.ca.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}})
	if err := srv.AddListener(l); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return f
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
		{"CONNACK refusal", nil, func() { f.hook.deny = true }, ErrRefused, "0x87 Not authorized"},
		{"closed before CONNACK", nil, func() { f.hook.deny, f.hook.closeC = false, true }, ErrClosed, "before CONNACK"},
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
