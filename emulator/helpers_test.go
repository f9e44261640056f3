package emulator

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/mqttc"
)

// perThingPolicy is the AWS documentation's per-thing policy.
const perThingPolicy = fleet.DefaultThingPolicy

// observerPolicy lets an application watch every thing's shadow topics.
const observerPolicy = fleet.DefaultObserverPolicy

// receiveOwnOnlyPolicy subscribes to anything but receives only its own topics.
const receiveOwnOnlyPolicy = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:*:*:client/${iot:ClientId}"},
 {"Effect":"Allow","Action":"iot:Subscribe","Resource":"*"},
 {"Effect":"Allow","Action":"iot:Receive","Resource":"arn:aws:iot:*:*:topic/$aws/things/${iot:Connection.Thing.ThingName}/*"}]}`

// openPolicy allows everything, retained publishes included.
const openPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startEmulator runs an emulator on a loopback port in a fresh data
// directory, with mod applied to its config.
func startEmulator(t testing.TB, mod func(*Config)) *Emulator {
	t.Helper()
	cfg := Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: quietLogger()}
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// identity is a provisioned thing's credentials.
type identity struct {
	thing  string
	certID string
	cert   tls.Certificate
	pem    *fleet.Identity
}

// provision issues a certificate from the emulator's CA for thing and
// registers it with the named policy (created from document).
func provision(t testing.TB, e *Emulator, thing, policyName, document string) identity {
	t.Helper()
	ctx := context.Background()
	if err := e.Registry().EnsurePolicy(ctx, policyName, document); err != nil {
		t.Fatal(err)
	}
	id, err := e.CA().Issue(thing, fleet.KeyECDSA)
	if err != nil {
		t.Fatal(err)
	}
	certID, err := e.Registry().RegisterThing(ctx, thing, id.CertPEM, policyName)
	if err != nil {
		t.Fatal(err)
	}
	if certID != id.CertificateID {
		t.Fatalf("registry certificate ID %s, fleet says %s", certID, id.CertificateID)
	}
	cert, err := id.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return identity{thing: thing, certID: certID, cert: cert, pem: id}
}

// client5 is an MQTT 5 test client and what it received.
type client5 struct {
	*mqttc.Client
	msgs        chan *paho.Publish
	disconnects chan *paho.Disconnect
	pending     []*paho.Publish // received, not yet expected
}

func dialOptions(e *Emulator, id identity, clientID string) mqttc.Options {
	return mqttc.Options{
		Endpoint:    e.Addr(),
		Certificate: id.cert,
		Roots:       e.CA().Pool(),
		ServerName:  "localhost",
		ClientID:    clientID,
		CleanStart:  true,
		Timeout:     10 * time.Second,
	}
}

// dial5 connects an MQTT 5 client or fails the test.
func dial5(t testing.TB, e *Emulator, id identity, clientID string) *client5 {
	t.Helper()
	c, err := tryDial5(e, id, clientID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func tryDial5(e *Emulator, id identity, clientID string) (*client5, error) {
	return tryDial5WithOptions(e, dialOptions(e, id, clientID))
}

// tryDial5WithOptions connects an MQTT 5 client collecting what it
// receives.
func tryDial5WithOptions(_ *Emulator, opts mqttc.Options) (*client5, error) {
	c := &client5{msgs: make(chan *paho.Publish, 100), disconnects: make(chan *paho.Disconnect, 4)}
	opts.OnPublish = func(p *paho.Publish) { c.msgs <- p }
	opts.OnServerDisconnect = func(d *paho.Disconnect) { c.disconnects <- d }
	mc, err := mqttc.Dial(context.Background(), opts)
	if err != nil {
		return nil, err
	}
	c.Client = mc
	return c, nil
}

func (c *client5) subscribe(t testing.TB, filters ...string) []byte {
	t.Helper()
	s := &paho.Subscribe{}
	for _, f := range filters {
		s.Subscriptions = append(s.Subscriptions, paho.SubscribeOptions{Topic: f, QoS: 1})
	}
	ack, err := c.Subscribe(context.Background(), s)
	if ack == nil {
		t.Fatalf("SUBSCRIBE %v: %v", filters, err)
	}
	return ack.Reasons
}

// publish sends a QoS 1 publish and returns the PUBACK reason code.
func (c *client5) publish(t testing.TB, topic string, payload []byte, retain bool) byte {
	t.Helper()
	resp, err := c.Publish(context.Background(), &paho.Publish{Topic: topic, QoS: 1, Payload: payload, Retain: retain})
	if resp == nil {
		t.Fatalf("PUBLISH %s: %v", topic, err)
	}
	return resp.ReasonCode
}

// expectMessage waits for a publish on topic; publishes on other topics
// are kept for later calls, since AWS does not order responses.
func (c *client5) expectMessage(t testing.TB, topic string) *paho.Publish {
	t.Helper()
	for i, p := range c.pending {
		if p.Topic == topic {
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			return p
		}
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case p := <-c.msgs:
			if p.Topic == topic {
				return p
			}
			c.pending = append(c.pending, p)
		case <-deadline:
			t.Fatalf("no message on %s", topic)
		}
	}
}

// expectNoMessage checks nothing arrives for a while; a later message on
// the same connection proves earlier ones were not just slow.
func (c *client5) expectNoMessage(t testing.TB, topic string) {
	t.Helper()
	for _, p := range c.pending {
		if p.Topic == topic {
			t.Fatalf("unexpected message on %s", topic)
		}
	}
	for {
		select {
		case p := <-c.msgs:
			if p.Topic == topic {
				t.Fatalf("unexpected message on %s", topic)
			}
			c.pending = append(c.pending, p)
		default:
			return
		}
	}
}

// expectServerDisconnect waits for the server's DISCONNECT, which must
// carry code, and then for the connection to end.
func (c *client5) expectServerDisconnect(t testing.TB, code byte) {
	t.Helper()
	select {
	case d := <-c.disconnects:
		if d.ReasonCode != code {
			t.Fatalf("DISCONNECT %s, want %s", mqttc.ReasonString(d.ReasonCode), mqttc.ReasonString(code))
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no DISCONNECT %s from the server", mqttc.ReasonString(code))
	}
	c.expectClosed(t)
}

// expectClosed waits until the client's connection ends.
func (c *client5) expectClosed(t testing.TB) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("connection still open")
	}
}

// dial3 connects an MQTT 3.1.1 client with paho.mqtt.golang.
func dial3(e *Emulator, id identity, clientID string, lost chan<- error, onMsg pahov3.MessageHandler) (pahov3.Client, error) {
	opts := pahov3.NewClientOptions().
		AddBroker("ssl://" + e.Addr()).
		SetClientID(clientID).
		SetProtocolVersion(4).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(10 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetTLSConfig(&tls.Config{Certificates: []tls.Certificate{id.cert}, RootCAs: e.CA().Pool(), ServerName: "localhost"})
	if lost != nil {
		opts.SetConnectionLostHandler(func(_ pahov3.Client, err error) { lost <- err })
	}
	if onMsg != nil {
		opts.SetDefaultPublishHandler(onMsg)
	}
	c := pahov3.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(15 * time.Second) {
		return nil, os.ErrDeadlineExceeded
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	return c, nil
}

// writeIdentityFiles writes id's certificate and key for command-line clients.
func writeIdentityFiles(t testing.TB, id identity) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, id.pem.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, id.pem.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
