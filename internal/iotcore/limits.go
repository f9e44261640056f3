package iotcore

import "time"

// Protocol limits of AWS IoT Core's message broker.
const (
	// MaxPayload is the largest PUBLISH payload in bytes; a larger one
	// closes the connection.
	MaxPayload = 128 * 1024
	// MaxTopicBytes is the longest topic name or filter in bytes, not
	// counting a Basic Ingest or shared-subscription prefix.
	MaxTopicBytes = 256
	// MaxTopicSlashes is the most forward slashes a topic name or filter
	// may hold, not counting a Basic Ingest or shared-subscription prefix.
	MaxTopicSlashes = 7
	// MaxFiltersPerSubscribe is the most topic filters one SUBSCRIBE may carry.
	MaxFiltersPerSubscribe = 8
	// MaxSubscriptionsPerConnection is the most subscriptions one
	// connection may hold.
	MaxSubscriptionsPerConnection = 50
	// MaxClientIDBytes is the longest client ID in bytes.
	MaxClientIDBytes = 128
	// MaxShareNameChars is the longest shared-subscription group name.
	MaxShareNameChars = 128
	// MaxInflight is the most unacknowledged QoS 1 publishes each way per
	// connection; it is the Receive Maximum AWS announces.
	MaxInflight = 100
	// TopicAliasMaximum is the most client-to-server topic aliases per
	// MQTT 5 connection.
	TopicAliasMaximum = 8
	// MaxQoS is the highest QoS AWS IoT Core supports.
	MaxQoS = 1
)

// Keep-alive bounds in seconds: 0 and values above MaxKeepAlive become
// MaxKeepAlive, values below MinKeepAlive become MinKeepAlive.
const (
	MinKeepAlive = 30
	MaxKeepAlive = 1200
)

// KeepAliveGrace is the multiple of the keep-alive after which a silent
// connection is closed.
const KeepAliveGrace = 1.5

// Session and message expiry bounds.
const (
	// DefaultSessionExpiry is the account's persistent-session expiry: the
	// expiry of every MQTT 3.1.1 persistent session and the cap on an MQTT 5
	// Session Expiry Interval.
	DefaultSessionExpiry = time.Hour
	// MaxSessionExpiry is the highest account session expiry AWS allows.
	MaxSessionExpiry = 7 * 24 * time.Hour
	// MaxMessageExpirySeconds is the highest MQTT 5 Message Expiry
	// Interval; larger values are lowered to it, 0 is raised to 1.
	MaxMessageExpirySeconds = 604800
)

// Per-connection and per-account quotas.
const (
	// PublishesPerSecond is the inbound plus outbound publishes one
	// connection may make per second.
	PublishesPerSecond = 100
	// BytesPerSecond is the inbound plus outbound data one connection may
	// move per second.
	BytesPerSecond = 512 * 1024
	// ConnectsPerSecondPerClientID is the CONNECT rate allowed for one
	// client ID.
	ConnectsPerSecondPerClientID = 1
	// ConnectsPerSecondPerAccount is the account-wide CONNECT rate (lower
	// in some Regions).
	ConnectsPerSecondPerAccount = 500
	// ReplayPerSecond is how many stored messages a resumed persistent
	// session is sent per second.
	ReplayPerSecond = 10
)

// Device Shadow service quotas.
const (
	// ShadowRequestsPerSecond is the request rate allowed on one shadow.
	ShadowRequestsPerSecond = 20
	// ShadowInFlightPerConnection is the most shadow requests one
	// connection may have unanswered; beyond it requests get 429.
	ShadowInFlightPerConnection = 10
)

// ClampKeepAlive applies AWS's keep-alive rule to a CONNECT's keep-alive in
// seconds.
func ClampKeepAlive(secs uint16) uint16 {
	switch {
	case secs == 0 || secs > MaxKeepAlive:
		return MaxKeepAlive
	case secs < MinKeepAlive:
		return MinKeepAlive
	}
	return secs
}

// ClampMessageExpiry applies AWS's message expiry bounds to an MQTT 5
// Message Expiry Interval in seconds.
func ClampMessageExpiry(secs uint32) uint32 {
	return min(max(secs, 1), MaxMessageExpirySeconds)
}
