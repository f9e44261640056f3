package shadowsvc

// Publisher publishes a message through the broker, as the broker's inline
// client does. The service calls it holding no lock of its own, from a
// Handle call's goroutine (not necessarily the one whose request the
// response answers), from a goroutine publishing what a group commit made
// durable, or from its scheduler goroutine; the responses of one shadow
// are published by one goroutine at a time, in the order their requests
// were applied. A Publish that blocks holds back the later responses of
// that shadow, and those the same group commit made durable after it, so
// it should not block for long. Each payload is freshly allocated and
// never touched by the service again: the publisher may keep it.
type Publisher interface {
	Publish(topic string, payload []byte)
}
