// Package broker is the AWS IoT Core emulator's MQTT 3.1.1 and 5 message
// broker: listener and handshake deadlines, event loops and coalescing
// non-blocking writes with bounded queues, sessions (clean and persistent,
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
// Concurrency: no lock is held across a call into a hook, and nothing
// waits on a socket. On Linux, established connections are served by a few
// event loops (epoll): a loop reads what a ready socket holds, handles
// every complete packet and writes the replies in one write. Whoever
// queues a packet for a connection writes it without waiting; what the
// socket does not take waits for the loop to see the socket writable, and
// meanwhile that connection's deliveries wait in its own bounded queue
// (what does not fit is dropped and counted). Elsewhere, and for
// connections that are not sockets, a goroutine per connection reads and a
// writer goroutine runs while bytes wait.
package broker
