// Package mqttc is a small MQTT 5 client helper over paho.golang: it dials an
// endpoint with mutual TLS, sends CONNECT and returns a connected client, or an
// error that names the cause (unreachable, TLS, refused with a reason code).
package mqttc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// Defaults for Options fields left zero.
const (
	DefaultKeepAlive      = 60 * time.Second
	DefaultReceiveMaximum = 100
	DefaultTimeout        = 10 * time.Second
)

// Options describe one MQTT 5 connection. The zero value of every field but
// Endpoint, Certificate and ClientID means the documented default.
type Options struct {
	Endpoint    string          // host:port
	Certificate tls.Certificate // client certificate and key
	Roots       *x509.CertPool  // CAs the server certificate must chain to; nil = system roots
	ServerName  string          // SNI and verified name; default the host of Endpoint
	ALPN        []string        // e.g. "x-amzn-mqtt-ca" for port 443
	ClientID    string
	KeepAlive   time.Duration // default DefaultKeepAlive; whole seconds are sent
	CleanStart  bool
	// SessionExpiry asks the server to keep the session this long after a
	// disconnect; zero ends it with the connection.
	SessionExpiry time.Duration
	// ReceiveMaximum bounds the server's unacknowledged QoS 1 publishes to us;
	// default DefaultReceiveMaximum. paho sizes a channel by it.
	ReceiveMaximum uint16
	// Timeout bounds the TCP dial, TLS handshake and CONNACK wait and is the
	// client's packet timeout; default DefaultTimeout.
	Timeout time.Duration
	// Will is the Last Will the server publishes if the connection ends
	// without DISCONNECT; nil means none.
	Will *paho.WillMessage
	// WillProperties are the MQTT 5 properties of Will.
	WillProperties *paho.WillProperties
	// OnPublish is called for every PUBLISH received, on one goroutine per
	// client: keep it short.
	OnPublish func(*paho.Publish)
	// OnServerDisconnect is called when the server sends DISCONNECT.
	OnServerDisconnect func(*paho.Disconnect)
	// OnClientError is called when the connection fails after CONNACK.
	OnClientError func(error)

	// wrap, when set, wraps the TCP connection under TLS (tests).
	wrap func(net.Conn) net.Conn
}

// Client is a connected MQTT 5 client.
type Client struct {
	*paho.Client
	// Connack is the server's CONNACK, with its properties (Maximum QoS,
	// Server Keep Alive, Receive Maximum…).
	Connack *paho.Connack
	conn    *tls.Conn
}

// ConnectionState returns the TLS state of the connection.
func (c *Client) ConnectionState() tls.ConnectionState { return c.conn.ConnectionState() }

// Drop closes the socket without DISCONNECT, as a client whose network went
// away; the client then reports the error of its read (OnClientError).
func (c *Client) Drop() error { return c.conn.Close() }

// Close sends DISCONNECT (normal) and closes the connection.
func (c *Client) Close() error {
	return c.Disconnect(&paho.Disconnect{ReasonCode: 0})
}

// Dial connects to opts.Endpoint over mutual TLS and completes the MQTT 5
// CONNECT/CONNACK exchange. Errors wrap ErrUnreachable, ErrTLS, ErrRefused (a
// *ConnackError with the reason code) or ErrClosed.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	keepAlive := opts.KeepAlive
	if keepAlive <= 0 {
		keepAlive = DefaultKeepAlive
	}
	receiveMax := opts.ReceiveMaximum
	if receiveMax == 0 {
		receiveMax = DefaultReceiveMaximum
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, serverName, err := dialTLS(dctx, tlsOptions{
		Endpoint: opts.Endpoint, Certificate: opts.Certificate, Roots: opts.Roots,
		ServerName: opts.ServerName, ALPN: opts.ALPN, wrap: opts.wrap,
	})
	if err != nil {
		return nil, err
	}

	probe := &alertProbeConn{Conn: conn}
	probe.probing.Store(true)
	cfg := paho.ClientConfig{
		Conn:          newCoalescingConn(probe),
		PacketTimeout: timeout,
		OnClientError: opts.OnClientError,
	}
	cfg.OnServerDisconnect = opts.OnServerDisconnect
	if opts.OnPublish != nil {
		onPublish := opts.OnPublish
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) {
				onPublish(pr.Packet)
				return true, nil
			},
		}
	}
	pc := paho.NewClient(cfg)

	cp := &paho.Connect{
		ClientID:    opts.ClientID,
		KeepAlive:   uint16(min(keepAlive/time.Second, 65535)),
		CleanStart:  opts.CleanStart,
		Properties:  &paho.ConnectProperties{ReceiveMaximum: &receiveMax},
		WillMessage: opts.Will,
	}
	if opts.Will != nil {
		cp.WillProperties = opts.WillProperties
	}
	if opts.SessionExpiry > 0 {
		secs := uint32(min(opts.SessionExpiry/time.Second, 1<<32-1))
		cp.Properties.SessionExpiryInterval = &secs
	}
	ack, err := pc.Connect(dctx, cp)
	probe.probing.Store(false)
	if err != nil {
		_ = conn.Close()
		if ack != nil && ack.ReasonCode >= 0x80 {
			ce := &ConnackError{Endpoint: opts.Endpoint, ClientID: opts.ClientID, ReasonCode: ack.ReasonCode}
			if ack.Properties != nil {
				ce.ReasonString = ack.Properties.ReasonString
			}
			return nil, ce
		}
		return nil, classifyConnectErr(opts.Endpoint, serverName, err)
	}
	return &Client{Client: pc, Connack: ack, conn: conn}, nil
}
