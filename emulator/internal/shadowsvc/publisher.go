package shadowsvc

// Publisher publishes a message through the broker, as the broker's inline
// client does. The service calls it for one shadow at a time, either while
// holding that shadow's lock or from its scheduler goroutine, and never
// while holding any other lock of its own, so it should not block for long.
// Each payload is freshly allocated and never touched by the service again:
// the publisher may keep it.
type Publisher interface {
	Publish(topic string, payload []byte)
}
