package load

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/shadowload/shadowload/internal/mqttc"
)

// Target is where the fleet connects and how it proves who the server is.
type Target struct {
	Endpoint   string         // host:port
	Roots      *x509.CertPool // nil: the system roots (real AWS)
	ServerName string         // SNI; default the endpoint's host
	ALPN       []string       // e.g. x-amzn-mqtt-ca for port 443
}

// session is what one MQTT connection needs to come up.
type session struct {
	target     Target
	cert       tls.Certificate
	clientID   string
	keepAlive  time.Duration
	cleanStart bool
	receiveMax uint16
	timeout    time.Duration
	filters    []string
	subQoS     byte
	onPublish  func(p *paho.Publish)
	onLost     func(error)
}

// connectError is why a connection could not be made, sorted into the
// reasons the report counts.
type connectError struct {
	reason string // one of connectReasons
	err    error
}

func (e *connectError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// connectReason returns the reason label of a connect failure.
func connectReason(err error) string {
	var ce *connectError
	if errors.As(err, &ce) {
		return ce.reason
	}
	return "other"
}

// dial connects over mutual TLS and, when filters are given, sends one
// SUBSCRIBE with all of them. It returns how long the connect (TCP, TLS and
// CONNACK) and the subscribe took.
func dial(ctx context.Context, s session) (c *paho.Client, connectTook, subscribeTook time.Duration, err error) {
	start := time.Now()
	mc, err := mqttc.Dial(ctx, mqttc.Options{
		Endpoint:       s.target.Endpoint,
		Certificate:    s.cert,
		Roots:          s.target.Roots,
		ServerName:     s.target.ServerName,
		ALPN:           s.target.ALPN,
		ClientID:       s.clientID,
		KeepAlive:      s.keepAlive,
		CleanStart:     s.cleanStart,
		ReceiveMaximum: s.receiveMax,
		Timeout:        s.timeout,
		OnPublish:      s.onPublish,
		OnClientError:  func(err error) { lost(s, err) },
		OnServerDisconnect: func(d *paho.Disconnect) {
			lost(s, fmt.Errorf("server sent DISCONNECT %s", mqttc.ReasonString(d.ReasonCode)))
		},
	})
	if err != nil {
		reason := "other"
		switch {
		case ctx.Err() != nil:
			reason = "timeout"
		case errors.Is(err, mqttc.ErrUnreachable):
			reason = "dial"
		case errors.Is(err, mqttc.ErrTLS):
			reason = "tls"
		case errors.Is(err, mqttc.ErrRefused), errors.Is(err, mqttc.ErrClosed):
			reason = "connack"
		}
		return nil, 0, 0, &connectError{reason, err}
	}
	connectTook = time.Since(start)
	if len(s.filters) == 0 {
		return mc.Client, connectTook, 0, nil
	}
	subStart := time.Now()
	sub := &paho.Subscribe{Subscriptions: make([]paho.SubscribeOptions, len(s.filters))}
	for i, f := range s.filters {
		sub.Subscriptions[i] = paho.SubscribeOptions{Topic: f, QoS: s.subQoS}
	}
	sa, err := mc.Subscribe(ctx, sub)
	if err == nil {
		for i, rc := range sa.Reasons {
			if rc >= 0x80 {
				err = fmt.Errorf("SUBACK refused %q: %s", s.filters[i], mqttc.ReasonString(rc))
				break
			}
		}
	}
	if err != nil {
		_ = mc.Close()
		return nil, 0, 0, &connectError{"subscribe", err}
	}
	return mc.Client, connectTook, time.Since(subStart), nil
}

func lost(s session, err error) {
	if s.onLost != nil {
		s.onLost(err)
	}
}
