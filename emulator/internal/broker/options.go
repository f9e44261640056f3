package broker

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/shadowload/shadowload/internal/iotcore"
)

// Options configures a Server. The zero value of every field but TLS means
// the default its comment gives.
type Options struct {
	// TLS is the server's TLS configuration; nil serves plain TCP (tests).
	TLS *tls.Config
	// ConnectTimeout bounds the TLS handshake plus the wait for CONNECT;
	// default 10 s.
	ConnectTimeout time.Duration
	// WriteTimeout bounds one write to a client; a client that takes no
	// bytes for this long has its connection closed. Default 30 s.
	WriteTimeout time.Duration
	// CloseGrace bounds how long Close lets clients take their DISCONNECT
	// before it closes their sockets; default 3 s.
	CloseGrace time.Duration

	// Authorizer decides connects, publishes, subscriptions and deliveries;
	// nil allows everything.
	Authorizer Authorizer
	// Lifecycle hears connects, disconnects and subscription changes; nil
	// hears nothing.
	Lifecycle Lifecycle
	// Handler is given every client publish that passed the checks; nil
	// means none.
	Handler Handler

	// HashMatchesDollar makes a filter whose first level is a wildcard
	// match topics starting with "$" too.
	HashMatchesDollar bool
	// DisconnectOnDeniedPublish closes an MQTT 5 connection after a denied
	// PUBLISH (3.1.1 connections are always closed).
	DisconnectOnDeniedPublish bool
	// WillOnDisconnectWithWill publishes the Last Will when an MQTT 5 client
	// disconnects with reason 0x04, as MQTT 5 asks; by default any client
	// DISCONNECT discards the will, as AWS documents.
	WillOnDisconnectWithWill bool
	// WillDelay honours the MQTT 5 Will Delay Interval; by default the will
	// is published at once, as AWS does not list the property.
	WillDelay bool

	// PublishesPerSecond and BytesPerSecond limit each connection's
	// publishes and bytes, in and out together; 0 means unlimited.
	PublishesPerSecond int
	BytesPerSecond     int
	// DisconnectOnThrottle closes a connection that publishes over
	// PublishesPerSecond (MQTT 5 DISCONNECT 0x97, lifecycle THROTTLED);
	// by default the publish is discarded and the connection stays up, as
	// AWS documents for the per-connection rate.
	DisconnectOnThrottle bool
	// SessionExpiry is the account's persistent-session expiry: the expiry
	// of 3.1.1 persistent sessions and the cap on MQTT 5 ones; default
	// iotcore.DefaultSessionExpiry, at most iotcore.MaxSessionExpiry.
	SessionExpiry time.Duration
	// ReplayPerSecond paces the stored messages a resumed session is sent;
	// default iotcore.ReplayPerSecond, negative means unpaced.
	ReplayPerSecond int
	// MaxQueued bounds the messages waiting to be written to one
	// connection, and the messages stored for one offline session; default
	// 1000. Beyond it new messages are dropped and counted.
	MaxQueued int
	// MaxQueuedBytes bounds the payload bytes waiting for one connection;
	// default 4 MiB.
	MaxQueuedBytes int

	// EventLoops is how many epoll event loops serve established
	// connections (Linux): 0 means one per P but one (none with a single
	// P); negative means none, a goroutine per connection. A loop waits in a
	// blocking epoll_wait, whose P the runtime takes back only when its
	// monitor next looks (up to 10 ms), so a broker that shares its
	// process with latency-sensitive goroutines (a load generator) is
	// better served without.
	EventLoops int

	// Logger receives the broker's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Defaults for Options fields left zero.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultWriteTimeout   = 30 * time.Second
	DefaultCloseGrace     = 3 * time.Second
	DefaultMaxQueued      = 1000
	DefaultMaxQueuedBytes = 4 << 20
)

func (o Options) withDefaults() Options {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.CloseGrace <= 0 {
		o.CloseGrace = DefaultCloseGrace
	}
	if o.SessionExpiry <= 0 {
		o.SessionExpiry = iotcore.DefaultSessionExpiry
	}
	o.SessionExpiry = min(o.SessionExpiry, iotcore.MaxSessionExpiry)
	if o.ReplayPerSecond == 0 {
		o.ReplayPerSecond = iotcore.ReplayPerSecond
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = DefaultMaxQueued
	}
	if o.MaxQueuedBytes <= 0 {
		o.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
