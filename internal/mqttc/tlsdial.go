package mqttc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
)

// tlsOptions are what a mutual-TLS connection to an MQTT endpoint needs.
type tlsOptions struct {
	Endpoint    string          // host:port
	Certificate tls.Certificate // client certificate and key
	Roots       *x509.CertPool  // nil: the system roots
	ServerName  string          // default the host of Endpoint
	ALPN        []string
	// wrap, when set, wraps the TCP connection under TLS: tests count the
	// writes that reach the socket with it.
	wrap func(net.Conn) net.Conn
}

// dialTLS opens a TCP connection to the endpoint and completes the TLS
// handshake within ctx. Its errors wrap ErrUnreachable or ErrTLS with the
// cause in words (tlsCause); it also returns the server name verified.
func dialTLS(ctx context.Context, o tlsOptions) (*tls.Conn, string, error) {
	if o.Endpoint == "" {
		return nil, "", errors.New("mqttc: no endpoint given; want host:port")
	}
	host, _, err := net.SplitHostPort(o.Endpoint)
	if err != nil {
		return nil, "", fmt.Errorf("mqttc: endpoint %q: want host:port: %w", o.Endpoint, err)
	}
	serverName := o.ServerName
	if serverName == "" {
		serverName = host
	}
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", o.Endpoint)
	if err != nil {
		return nil, serverName, fmt.Errorf("mqttc: %s: %w: %v", o.Endpoint, ErrUnreachable, err)
	}
	if o.wrap != nil {
		raw = o.wrap(raw)
	}
	conn := tls.Client(raw, &tls.Config{
		Certificates: []tls.Certificate{o.Certificate},
		RootCAs:      o.Roots,
		ServerName:   serverName,
		NextProtos:   o.ALPN,
		MinVersion:   tls.VersionTLS12,
		// Classical key exchange: the hybrid post-quantum key share adds
		// 1.2 KB to every ClientHello, which the server buffers for the life
		// of the connection, and CPU to every handshake of a large fleet.
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256},
	})
	if err := conn.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		return nil, serverName, fmt.Errorf("mqttc: %s: %w: %s", o.Endpoint, ErrTLS, tlsCause(err, serverName))
	}
	return conn, serverName, nil
}
