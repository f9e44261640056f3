package broker

// Authorizer is identity and authorisation: the broker asks it at every
// CONNECT, PUBLISH, SUBSCRIBE filter and delivery. Methods are called
// without broker locks held and must not block for long; AllowReceive runs
// on every delivery and must not allocate.
type Authorizer interface {
	// Connect decides a CONNECT whose grammar the broker has checked. It
	// may set c.State for the other calls. A refusal returns its reason
	// code (0x87 not authorised, 0x85 bad client ID…); 0 admits.
	Connect(c *Client, will *Will) (refusal byte)
	// Publish decides a client PUBLISH to topic (retain: with RETAIN): 0
	// allows; a refusal says why, ReasonAuthError or, when the client's
	// address decided it, ReasonForbiddenAccess (the reason a connection
	// closed for it reports).
	Publish(c *Client, topic string, retain bool) (denial DisconnectReason)
	// Subscribe decides one topic filter of a SUBSCRIBE, as Publish does.
	Subscribe(c *Client, filter string) (denial DisconnectReason)
	// AllowReceive decides one delivery of topic to c.
	AllowReceive(c *Client, topic string) bool
}

// Lifecycle hears what lifecycle events report. Calls are made without
// broker locks held, on a goroutine serving the connection concerned (its
// handshake, its reader or its teardown); they must not block for long.
type Lifecycle interface {
	// Connected: c was accepted (its CONNACK is queued).
	Connected(c *Client)
	// ConnectFailed: a CONNECT from clientID was refused as not authorised.
	ConnectFailed(c *Client)
	// Disconnected: c ended for reason; Connected was called for it.
	Disconnected(c *Client, reason DisconnectReason)
	// Subscribed and Unsubscribed: c's SUBSCRIBE granted filters, or its
	// UNSUBSCRIBE removed them.
	Subscribed(c *Client, filters []string)
	Unsubscribed(c *Client, filters []string)
}

// Handler is given every client publish that passed the broker's and the
// Authorizer's checks, after it was delivered to the subscribers, on the
// publishing connection's reader: an event loop serving many connections,
// so it must not block. payload is the handler's to keep.
type Handler interface {
	Published(c *Client, topic string, payload []byte)
}

// DisconnectReason says why a connection ended, in the terms of AWS IoT
// Core's lifecycle events.
type DisconnectReason uint8

// Disconnect reasons.
const (
	ReasonClientInitiated   DisconnectReason = iota + 1 // the client sent DISCONNECT
	ReasonConnectionLost                                // the socket ended without DISCONNECT
	ReasonDuplicateClientID                             // a newer connection took over the client ID
	ReasonClientError                                   // a protocol fault or oversize packet
	ReasonAuthError                                     // authorisation failed on a live connection
	ReasonForbiddenAccess                               // the client is not allowed
	ReasonKeepAliveTimeout                              // nothing received for 1.5× keep-alive
	ReasonServerError                                   // an unexpected server fault
	ReasonServerInitiated                               // the server shut down
	ReasonAPIInitiated                                  // an administrative disconnect
	ReasonThrottled                                     // a throttling limit was exceeded
)

var reasonNames = [...]string{
	ReasonClientInitiated:   "CLIENT_INITIATED_DISCONNECT",
	ReasonConnectionLost:    "CONNECTION_LOST",
	ReasonDuplicateClientID: "DUPLICATE_CLIENTID",
	ReasonClientError:       "CLIENT_ERROR",
	ReasonAuthError:         "AUTH_ERROR",
	ReasonForbiddenAccess:   "FORBIDDEN_ACCESS",
	ReasonKeepAliveTimeout:  "MQTT_KEEP_ALIVE_TIMEOUT",
	ReasonServerError:       "SERVER_ERROR",
	ReasonServerInitiated:   "SERVER_INITIATED_DISCONNECT",
	ReasonAPIInitiated:      "API_INITIATED_DISCONNECT",
	ReasonThrottled:         "THROTTLED",
}

// String returns the reason as AWS's disconnectReason spells it.
func (r DisconnectReason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return "UNKNOWN"
}

// willPublished reports whether a connection ending for r publishes its
// Last Will: every reason but a client DISCONNECT.
func (r DisconnectReason) willPublished() bool { return r != ReasonClientInitiated }
