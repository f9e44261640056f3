// Package mqtt is the load engine's MQTT transport: MQTT 3.1.1 and 5
// connections over mutual TLS on internal/mqttc's lean Conn, which writes
// each packet as one TLS record and allocates nothing per message.
package mqtt

import (
	"context"
	"crypto/x509"
	"errors"
	"time"

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
	// Timeout bounds the TCP dial, TLS handshake and CONNACK wait, every
	// write and the wait for a PINGRESP; default mqttc.DefaultTimeout.
	Timeout time.Duration

	// keeper pings and watches every connection of the transport from one
	// goroutine.
	keeper mqttc.Keeper
}

// Dial connects as s.ClientID with s.Protocol. Its errors wrap
// load.ErrUnreachable, load.ErrTLS or load.ErrRefused beside mqttc's cause,
// whose message names it in full ("server certificate signed by an unknown
// CA").
func (t *Transport) Dial(ctx context.Context, s load.Session) (load.Conn, error) {
	version := mqttc.MQTT5
	if s.Protocol == load.MQTT311 {
		version = mqttc.MQTT311
	}
	c, err := mqttc.DialConn(ctx, mqttc.ConnOptions{
		Endpoint:       t.Endpoint,
		Certificate:    s.Certificate,
		Roots:          t.Roots,
		ServerName:     t.ServerName,
		ALPN:           t.ALPN,
		Version:        version,
		ClientID:       s.ClientID,
		KeepAlive:      s.KeepAlive,
		CleanStart:     s.CleanStart,
		SessionExpiry:  s.SessionExpiry,
		ReceiveMaximum: s.ReceiveMaximum,
		Timeout:        t.Timeout,
		Keeper:         &t.keeper,
		OnConnack:      s.OnConnack,
		OnMessage:      s.OnMessage,
		OnLost:         s.OnLost,
	})
	if err != nil {
		return nil, Classify(err)
	}
	return c, nil
}

// Classify marks an mqttc dial error with the engine's cause; its message
// stays mqttc's, which names the cause already.
func Classify(err error) error {
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
