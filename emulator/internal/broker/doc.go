// Package broker is the AWS IoT Core emulator's MQTT 3.1.1 and 5 message
// broker: listener and handshake deadlines, per-connection read loops and
// coalescing writers with bounded queues, sessions (clean and persistent,
// offline QoS 1 storage, replay, takeover), a topic index with AWS's matching
// rules, retained messages, Last Will, shared subscriptions, topic aliases
// and the MQTT 5 properties AWS forwards.
//
// It knows nothing of certificates, policies or shadows: identity and
// authorisation, lifecycle events and the handling of inbound publishes are
// small hooks the broker calls at named points ([Authorizer], [Lifecycle],
// [Handler]). Packets are decoded with mochi-mqtt's packets codec; the
// packets written on every delivery (PUBLISH, PUBACK, PINGRESP) are encoded
// here straight into each connection's write buffer.
//
// Concurrency: no lock is held across a call into a hook or a network write.
// Each connection has one reader goroutine and at most one writer at a time,
// started when something is queued; a slow subscriber fills only its own
// bounded queue, and what does not fit is dropped and counted.
package broker
