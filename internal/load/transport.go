package load

import (
	"context"
	"crypto/tls"
	"errors"
	"strconv"
	"time"
)

// Transport opens the MQTT connections of a run: the seam between the
// engine and a protocol client. The engine never touches a socket; the MQTT
// transport (package mqtt: 3.1.1 and 5) and the test doubles sit behind it.
type Transport interface {
	// Dial opens a connection as s.ClientID and completes the MQTT
	// handshake, or fails with an error wrapping the cause: ErrUnreachable,
	// ErrTLS or ErrRefused. ctx bounds the attempt.
	Dial(ctx context.Context, s Session) (Conn, error)
}

// Protocol is the MQTT version a connection speaks.
type Protocol uint8

// Protocols a fleet may speak.
const (
	MQTT5   Protocol = iota // MQTT 5
	MQTT311                 // MQTT 3.1.1
	numProtocols
)

// String names the protocol as scenario files and metric names do.
func (p Protocol) String() string {
	switch p {
	case MQTT5:
		return "mqtt5"
	case MQTT311:
		return "mqtt311"
	}
	return "protocol(" + strconv.Itoa(int(p)) + ")"
}

// Protocols lists the protocols in the order metrics and reports show them.
func Protocols() []Protocol { return []Protocol{MQTT5, MQTT311} }

// Session is what one connection needs to come up.
type Session struct {
	ClientID    string
	Certificate tls.Certificate
	Protocol    Protocol
	KeepAlive   time.Duration
	// CleanStart asks for a new session; false resumes the one the server
	// kept for the client ID, if any.
	CleanStart bool
	// SessionExpiry is how long an MQTT 5 server keeps the session after
	// the connection ends; an MQTT 3.1.1 session kept (CleanStart false)
	// lasts as long as the server's account setting.
	SessionExpiry time.Duration
	// ReceiveMaximum bounds the QoS 1 deliveries the server may have
	// unacknowledged towards this connection (MQTT 5).
	ReceiveMaximum uint16
	// OnConnack, when set, is called once the CONNACK is in and before
	// any delivery, with its session present flag: messages a resumed
	// session kept follow at once.
	OnConnack func(sessionPresent bool)
	// OnMessage receives every delivery, on the connection's own goroutine:
	// it is short and does not block. topic and payload are valid only
	// during the call.
	OnMessage func(topic string, payload []byte)
	// OnLost is called at most once, when the connection ends other than by
	// Close or Drop.
	OnLost func(error)
}

// Conn is one open connection.
type Conn interface {
	// SessionPresent reports the CONNACK's flag: the server resumed a
	// session it had kept, subscriptions included.
	SessionPresent() bool
	// Subscribe subscribes to the filters in one request and waits for the
	// answer; a refused filter is an error that names it.
	Subscribe(ctx context.Context, qos byte, filters []string) error
	// Publish hands one message to the connection without waiting for its
	// acknowledgement; an error means it never left.
	Publish(topic string, qos byte, payload []byte) error
	// Close sends DISCONNECT and ends the connection; OnLost is not called
	// for it.
	Close() error
	// Drop ends the connection without DISCONNECT, as a device whose
	// network went away; OnLost is not called for it.
	Drop() error
}

// Causes of a failed connect: a Transport's Dial errors wrap one of them, and
// the engine counts failures by them (connect.failed.dial, .tls, .connack).
var (
	// ErrUnreachable means no TCP connection to the endpoint could be made.
	ErrUnreachable = errors.New("endpoint unreachable")
	// ErrTLS means the TLS handshake failed, on either side.
	ErrTLS = errors.New("TLS handshake failed")
	// ErrRefused means the server refused the MQTT connection (CONNACK with
	// a failure code, or a close before CONNACK).
	ErrRefused = errors.New("connection refused")
)

// connectReasons are the labels of connect failures, as counted in
// connect.failed.REASON.
var connectReasons = []string{"dial", "tls", "connack", "subscribe", "timeout", "other"}

// errSubscribe marks a connection that came up but whose SUBSCRIBE failed.
var errSubscribe = errors.New("subscribe failed")

// connectReason sorts a connect failure into one of connectReasons. A
// failure after ctx's deadline is a time-out whatever the transport said.
func connectReason(ctx context.Context, err error) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, errSubscribe):
		return "subscribe"
	case errors.Is(err, ErrUnreachable):
		return "dial"
	case errors.Is(err, ErrTLS):
		return "tls"
	case errors.Is(err, ErrRefused):
		return "connack"
	}
	return "other"
}
