package emulator

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/iotcore"
	"github.com/shadowload/shadowload/internal/mqttc"
)

func TestConnectAllowedAdvertisesAWSLimits(t *testing.T) {
	e := startEmulator(t, nil)
	id := provision(t, e, "thing-1", "thing", perThingPolicy)
	opts := dialOptions(e, id, "thing-1")
	opts.KeepAlive = 5 * time.Second
	opts.ALPN = []string{"x-amzn-mqtt-ca"}
	c, err := mqttc.Dial(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := c.Connack.Properties
	if p == nil || p.MaximumQoS == nil || *p.MaximumQoS != 1 {
		t.Fatalf("CONNACK Maximum QoS = %v, want 1", p.MaximumQoS)
	}
	if p.ServerKeepAlive == nil || *p.ServerKeepAlive != MinKeepAlive {
		t.Fatalf("CONNACK Server Keep Alive = %v, want %d (5 s raised to the AWS minimum)", p.ServerKeepAlive, MinKeepAlive)
	}
	if got := c.ConnectionState().NegotiatedProtocol; got != "x-amzn-mqtt-ca" {
		t.Fatalf("ALPN protocol %q, want x-amzn-mqtt-ca", got)
	}
}

func TestKeepAliveClampedToAWSRange(t *testing.T) {
	for in, want := range map[uint16]uint16{0: 1200, 1: 30, 29: 30, 30: 30, 600: 600, 1200: 1200, 1201: 1200, 65535: 1200} {
		if got := iotcore.ClampKeepAlive(in); got != want {
			t.Errorf("iotcore.ClampKeepAlive(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestConnectRefusals(t *testing.T) {
	e := startEmulator(t, nil)
	good := provision(t, e, "thing-ok", "thing", perThingPolicy)
	inactive := provision(t, e, "thing-inactive", "thing", perThingPolicy)
	revoked := provision(t, e, "thing-revoked", "thing", perThingPolicy)
	if err := e.Registry().SetCertificateStatus(inactive.certID, StatusInactive); err != nil {
		t.Fatal(err)
	}
	if err := e.Registry().SetCertificateStatus(revoked.certID, StatusRevoked); err != nil {
		t.Fatal(err)
	}
	unregisteredPEM, err := e.CA().Issue("thing-unregistered", fleet.KeyECDSA)
	if err != nil {
		t.Fatal(err)
	}
	unregistered := identity{thing: "thing-unregistered"}
	if unregistered.cert, err = unregisteredPEM.TLSCertificate(); err != nil {
		t.Fatal(err)
	}
	otherCA, err := fleet.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	strangerPEM, err := otherCA.Issue("thing-ok", fleet.KeyECDSA)
	if err != nil {
		t.Fatal(err)
	}
	stranger := identity{thing: "thing-ok"}
	if stranger.cert, err = strangerPEM.TLSCertificate(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		id       identity
		clientID string
		is       error
		code     byte
	}{
		{"certificate from an unknown CA", stranger, "thing-ok", mqttc.ErrTLS, 0},
		{"unregistered certificate", unregistered, "thing-unregistered", mqttc.ErrRefused, 0x87},
		{"INACTIVE certificate", inactive, "thing-inactive", mqttc.ErrRefused, 0x87},
		{"REVOKED certificate", revoked, "thing-revoked", mqttc.ErrRefused, 0x87},
		{"client ID is not the thing name", good, "someone-else", mqttc.ErrRefused, 0x87},
		{"client ID over 128 bytes", good, strings.Repeat("x", 129), mqttc.ErrRefused, 0x85},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/mqtt5", func(t *testing.T) {
			c, err := tryDial5(e, tt.id, tt.clientID)
			if err == nil {
				_ = c.Close()
				t.Fatal("connected")
			}
			if !errors.Is(err, tt.is) {
				t.Fatalf("error %v, want %v", err, tt.is)
			}
			var ce *mqttc.ConnackError
			if tt.code != 0 && (!errors.As(err, &ce) || ce.ReasonCode != tt.code) {
				t.Fatalf("error %v, want CONNACK %s", err, mqttc.ReasonString(tt.code))
			}
		})
		t.Run(tt.name+"/mqtt311", func(t *testing.T) {
			c, err := dial3(e, tt.id, tt.clientID, nil, nil)
			if err == nil {
				c.Disconnect(0)
				t.Fatal("connected")
			}
		})
	}
	t.Run("allowed/mqtt311", func(t *testing.T) {
		c, err := dial3(e, good, "thing-ok", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Disconnect(0)
	})
}

func TestClientIDTakeoverDisconnectsTheFirst(t *testing.T) {
	e := startEmulator(t, nil)
	id := provision(t, e, "thing-1", "thing", perThingPolicy)
	first := dial5(t, e, id, "thing-1")
	second := dial5(t, e, id, "thing-1")
	first.expectServerDisconnect(t, 0x8E)
	if code := second.publish(t, "$aws/things/thing-1/shadow/get", nil, false); code != 0 {
		t.Fatalf("second connection PUBACK %s", mqttc.ReasonString(code))
	}
}

func TestInactiveCertificateClosesLiveConnection(t *testing.T) {
	for _, via := range []string{"same process", "another process"} {
		t.Run(via, func(t *testing.T) {
			e := startEmulator(t, nil)
			id := provision(t, e, "thing-1", "thing", perThingPolicy)
			bystander := provision(t, e, "thing-2", "thing", perThingPolicy)
			c := dial5(t, e, id, "thing-1")
			other := dial5(t, e, bystander, "thing-2")
			reg := e.Registry()
			if via == "another process" {
				r, err := OpenRegistry(e.cfg.DataDir)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				reg = r
			}
			if err := reg.SetCertificateStatus(id.certID, StatusInactive); err != nil {
				t.Fatal(err)
			}
			c.expectServerDisconnect(t, 0x98)
			if code := other.publish(t, "$aws/things/thing-2/shadow/get", nil, false); code != 0 {
				t.Fatalf("bystander PUBACK %s", mqttc.ReasonString(code))
			}
			if _, err := tryDial5(e, id, "thing-1"); !errors.Is(err, mqttc.ErrRefused) {
				t.Fatalf("reconnect error %v, want refusal", err)
			}
		})
	}
}

func TestRegistryPersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir, Listen: "127.0.0.1:0", Logger: quietLogger()}
	e1, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e1.Start(); err != nil {
		t.Fatal(err)
	}
	id := provision(t, e1, "thing-1", "thing", perThingPolicy)
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}
	e2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Start(); err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	c, err := tryDial5(e2, id, "thing-1")
	if err != nil {
		t.Fatalf("identity registered before the restart: %v", err)
	}
	_ = c.Close()
}

func TestBundleProvisionedWhileRunningConnects(t *testing.T) {
	e := startEmulator(t, nil)
	// Another process: its own CA handle and registry on the same data dir.
	ca, err := fleet.LoadOrCreateCA(e.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := OpenRegistry(e.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ctx := context.Background()
	if err := reg.EnsurePolicy(ctx, fleet.DefaultThingPolicyName, fleet.DefaultThingPolicy); err != nil {
		t.Fatal(err)
	}
	issued, err := ca.Issue("late-thing", fleet.KeyECDSA)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.RegisterThing(ctx, "late-thing", issued.CertPEM, fleet.DefaultThingPolicyName); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := fleet.WriteBundle(out, "late-thing", issued); err != nil {
		t.Fatal(err)
	}
	b, err := fleet.LoadBundle(out + "/late-thing")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tryDial5(e, identity{thing: b.Thing, cert: b.Certificate}, b.Thing)
	if err != nil {
		t.Fatalf("bundle provisioned while running: %v", err)
	}
	_ = c.Close()
}

func TestSocketsThatNeverConnectAreClosed(t *testing.T) {
	e := startEmulator(t, func(c *Config) { c.ConnectTimeout = 300 * time.Millisecond })
	id := provision(t, e, "thing-1", "thing", perThingPolicy)
	t.Run("no TLS handshake", func(t *testing.T) {
		conn, err := net.Dial("tcp", e.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		expectEOF(t, conn)
	})
	t.Run("TLS but no CONNECT", func(t *testing.T) {
		conn, err := tls.Dial("tcp", e.Addr(), &tls.Config{Certificates: []tls.Certificate{id.cert}, RootCAs: e.CA().Pool(), ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		expectEOF(t, conn)
	})
}

func expectEOF(t *testing.T, conn net.Conn) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	for {
		_, err := conn.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("server kept an idle socket open")
		}
		return
	}
}

func TestServerCertificateCoversExtraHosts(t *testing.T) {
	e := startEmulator(t, func(c *Config) { c.Hosts = []string{"iot.emulator.test"} })
	id := provision(t, e, "thing-1", "thing", perThingPolicy)
	for _, name := range []string{"localhost", "127.0.0.1", "iot.emulator.test"} {
		opts := dialOptions(e, id, "thing-1")
		opts.ServerName = name
		c, err := mqttc.Dial(context.Background(), opts)
		if err != nil {
			t.Fatalf("server name %s: %v", name, err)
		}
		_ = c.Close()
	}
	opts := dialOptions(e, id, "thing-1")
	opts.ServerName = "elsewhere.test"
	if _, err := mqttc.Dial(context.Background(), opts); !errors.Is(err, mqttc.ErrTLS) {
		t.Fatalf("name outside the certificate: %v, want a TLS error", err)
	}
}

// TestCloseDoesNotHangOnClientThatStoppedReading checks that Close returns
// although a subscriber stopped reading, so that the broker's writes to it
// (and the DISCONNECT Close sends it) block until its keep-alive deadline.
func TestCloseDoesNotHangOnClientThatStoppedReading(t *testing.T) {
	cfg := Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: quietLogger()}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.closeGrace = 200 * time.Millisecond
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = e.Close()
		}
	})
	a := provision(t, e, "thing-a", "open", openPolicy)
	b := provision(t, e, "thing-b", "open", openPolicy)
	stuck := dial5(t, e, a, "thing-a") // its handler blocks once 100 messages are unread
	t.Cleanup(func() {
		// Let the client's handler go so that its Close can finish.
		go func() {
			for {
				select {
				case <-stuck.msgs:
				case <-stuck.Done():
					return
				}
			}
		}()
	})
	if got := stuck.subscribe(t, "flood/#"); got[0] != 0x01 {
		t.Fatalf("SUBACK %x", got)
	}
	pub := dial5(t, e, b, "thing-b")
	payload := make([]byte, 100<<10)
	// Publish until the broker drops messages for the subscriber: its queue
	// is full, so the write in progress is blocked.
	for i := 0; e.srv.Stats().Dropped == 0; i++ {
		if i == 5000 {
			t.Fatal("the subscriber's queue never filled")
		}
		if _, err := pub.Publish(context.Background(), &paho.Publish{Topic: "flood/x", QoS: 0, Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- e.Close() }()
	select {
	case err := <-done:
		closed = true
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close still waiting for a client that stopped reading")
	}
}

// TestRapidReconnectsKeepTheirSubscriptions reconnects with one client ID
// back to back, as a device or the CLI does, each time subscribing and asking
// for the shadow: every connection must get its reply, however the previous
// one's teardown interleaves with it.
func TestRapidReconnectsKeepTheirSubscriptions(t *testing.T) {
	e := startEmulator(t, nil)
	id := provision(t, e, "thing-1", "thing", perThingPolicy)
	for i := 0; i < 200; i++ {
		c, err := tryDial5(e, id, "thing-1")
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		t.Cleanup(func() { _ = c.Close() })
		c.subscribe(t, "$aws/things/thing-1/shadow/get/rejected", "$aws/things/thing-1/shadow/get/accepted")
		if code := c.publish(t, "$aws/things/thing-1/shadow/get", nil, false); code != 0 {
			t.Fatalf("connection %d: PUBACK %s", i, mqttc.ReasonString(code))
		}
		select {
		case <-c.msgs:
		case <-time.After(5 * time.Second):
			t.Fatalf("connection %d: no reply to its get: the previous connection's teardown took its place", i)
		}
		if i%2 == 0 {
			_ = c.Close() // the next one connects as this one's DISCONNECT is handled
		}
		// odd ones stay open: the next one takes over
	}
}
