package mqttc

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// Sentinel errors that classify why Dial failed; test with errors.Is.
var (
	// ErrUnreachable means no TCP connection to the endpoint could be made.
	ErrUnreachable = errors.New("endpoint unreachable")
	// ErrTLS means the TLS handshake failed, on either side.
	ErrTLS = errors.New("TLS handshake failed")
	// ErrRefused means the server answered CONNECT with a failure reason code.
	ErrRefused = errors.New("connection refused by server")
	// ErrClosed means the server closed the connection before sending CONNACK,
	// which is how AWS IoT Core refuses an MQTT 3.1.1 client and how a server
	// that rejected the client certificate after a TLS 1.3 handshake shows it.
	ErrClosed = errors.New("connection closed before CONNACK")
)

// ConnackError is a CONNACK that carried a failure reason code.
type ConnackError struct {
	Endpoint     string
	ClientID     string
	ReasonCode   byte
	ReasonString string // the server's optional explanation
	// V311 says ReasonCode is an MQTT 3.1.1 CONNACK return code.
	V311 bool
}

// Error reports the endpoint, client ID and reason code with its name.
func (e *ConnackError) Error() string {
	msg := fmt.Sprintf("mqttc: %s refused client %q: CONNACK %s", e.Endpoint, e.ClientID, ReasonString(e.ReasonCode))
	if e.V311 {
		msg = fmt.Sprintf("mqttc: %s refused client %q: CONNACK return code %d (%s)", e.Endpoint, e.ClientID, e.ReasonCode, returnCodeName(e.ReasonCode))
	}
	if e.ReasonString != "" {
		msg += " (" + e.ReasonString + ")"
	}
	return msg
}

// Is makes errors.Is(err, ErrRefused) true for a ConnackError.
func (e *ConnackError) Is(target error) bool { return target == ErrRefused }

// tlsCause names the cause of a TLS failure in words a user can act on.
func tlsCause(err error, serverName string) string {
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verifyErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknownAuth):
		return "server certificate signed by an unknown CA (check the root CA file)"
	case errors.As(err, &hostErr):
		return fmt.Sprintf("server certificate is not valid for %q", serverName)
	case errors.As(err, &invalid):
		return "server certificate invalid: " + invalid.Error()
	case errors.As(err, &verifyErr):
		return "server certificate rejected: " + verifyErr.Err.Error()
	case isRemoteAlert(err):
		return "server rejected the client certificate: " + alertCause(err)
	}
	return err.Error()
}

// isRemoteAlert reports whether err is a TLS alert sent by the server. Over
// TCP crypto/tls reports one as a *net.OpError with Op "remote error".
func isRemoteAlert(err error) bool {
	if err == nil {
		return false
	}
	var alert tls.AlertError
	if errors.As(err, &alert) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "remote error"
}

// alertCause spells out the TLS alerts a server sends about a client certificate.
func alertCause(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "unknown certificate authority"):
		return "unknown CA (" + s + ")"
	case strings.Contains(s, "bad certificate"), strings.Contains(s, "certificate required"):
		return "bad or missing certificate (" + s + ")"
	}
	return s
}

// classifyConnectErr wraps an error met between the TLS handshake and CONNACK.
func classifyConnectErr(endpoint, serverName string, err error) error {
	if isRemoteAlert(err) {
		return fmt.Errorf("mqttc: %s: %w: %s", endpoint, ErrTLS, tlsCause(err, serverName))
	}
	var opErr *net.OpError
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		(errors.As(err, &opErr) && opErr.Op == "read") {
		return fmt.Errorf("mqttc: %s: %w (%v)", endpoint, ErrClosed, err)
	}
	return fmt.Errorf("mqttc: %s: CONNECT: %w", endpoint, err)
}
