// Package mqtt5 is the load engine's MQTT 5 transport: connections over
// mutual TLS on paho.golang, through internal/mqttc.
package mqtt5

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/shadowload/shadowload/internal/load"
	"github.com/shadowload/shadowload/internal/mqttc"
)

// Transport dials one endpoint with mutual TLS. Its zero value is not
// usable: Endpoint is required.
type Transport struct {
	Endpoint   string         // host:port
	Roots      *x509.CertPool // CAs the server certificate must chain to; nil: the system roots (real AWS)
	ServerName string         // SNI; default the endpoint's host
	ALPN       []string       // e.g. x-amzn-mqtt-ca for port 443
	// Timeout bounds the TCP dial, TLS handshake and CONNACK wait and is
	// the client's packet timeout; default mqttc.DefaultTimeout.
	Timeout time.Duration
}

// Dial connects as s.ClientID. Its errors wrap load.ErrUnreachable,
// load.ErrTLS or load.ErrRefused beside mqttc's cause, whose message names
// it in full ("server certificate signed by an unknown CA").
func (t *Transport) Dial(ctx context.Context, s load.Session) (load.Conn, error) {
	c := &conn{onLost: s.OnLost}
	opts := mqttc.Options{
		Endpoint:       t.Endpoint,
		Certificate:    s.Certificate,
		Roots:          t.Roots,
		ServerName:     t.ServerName,
		ALPN:           t.ALPN,
		ClientID:       s.ClientID,
		KeepAlive:      s.KeepAlive,
		CleanStart:     s.CleanStart,
		ReceiveMaximum: s.ReceiveMaximum,
		Timeout:        t.Timeout,
		OnClientError:  c.lost,
		OnServerDisconnect: func(d *paho.Disconnect) {
			c.lost(fmt.Errorf("server sent DISCONNECT %s", mqttc.ReasonString(d.ReasonCode)))
		},
	}
	if s.OnMessage != nil {
		onMessage := s.OnMessage
		opts.OnPublish = func(p *paho.Publish) { onMessage(p.Topic, p.Payload) }
	}
	mc, err := mqttc.Dial(ctx, opts)
	if err != nil {
		return nil, classify(err)
	}
	c.c = mc
	return c, nil
}

// classify marks a dial error with the engine's cause; its message stays
// mqttc's, which names the cause already.
func classify(err error) error {
	switch {
	case errors.Is(err, mqttc.ErrUnreachable):
		return &causeError{load.ErrUnreachable, err}
	case errors.Is(err, mqttc.ErrTLS):
		return &causeError{load.ErrTLS, err}
	case errors.Is(err, mqttc.ErrRefused), errors.Is(err, mqttc.ErrClosed):
		return &causeError{load.ErrRefused, err}
	}
	return err
}

// causeError is a dial error that also matches one of the engine's causes.
type causeError struct{ cause, err error }

func (e *causeError) Error() string   { return e.err.Error() }
func (e *causeError) Unwrap() []error { return []error{e.cause, e.err} }

// conn is one connection; it reports its loss once, and never after Close.
type conn struct {
	c      *mqttc.Client
	onLost func(error)

	mu     sync.Mutex
	closed bool
}

func (c *conn) lost(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	if c.onLost != nil {
		c.onLost(err)
	}
}

// Subscribe sends one SUBSCRIBE with every filter and checks each SUBACK
// reason code.
func (c *conn) Subscribe(ctx context.Context, qos byte, filters []string) error {
	sub := &paho.Subscribe{Subscriptions: make([]paho.SubscribeOptions, len(filters))}
	for i, f := range filters {
		sub.Subscriptions[i] = paho.SubscribeOptions{Topic: f, QoS: qos}
	}
	sa, err := c.c.Subscribe(ctx, sub)
	if err != nil {
		return err
	}
	for i, rc := range sa.Reasons {
		if rc >= 0x80 && i < len(filters) {
			return fmt.Errorf("SUBACK refused %q: %s", filters[i], mqttc.ReasonString(rc))
		}
	}
	return nil
}

// Publish sends at QoS 0, or hands a QoS 1 publish to paho without waiting
// for its PUBACK.
func (c *conn) Publish(topic string, qos byte, payload []byte) error {
	pub := &paho.Publish{QoS: qos, Topic: topic, Payload: payload}
	if qos == 0 {
		_, err := c.c.Publish(context.Background(), pub)
		return err
	}
	_, err := c.c.PublishWithOptions(context.Background(), pub, paho.PublishOptions{Method: paho.PublishMethod_AsyncSend})
	return err
}

// Close sends DISCONNECT and closes the connection.
func (c *conn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return c.c.Close()
}
