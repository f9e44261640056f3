package emulator

// shadowConn is the shadow service's per-connection state, opaque here.
type shadowConn any

// shadowRouter answers PUBLISHes on the Device Shadow request topics. The
// broker calls handle for every publish a client made that passed the
// policy and limit checks, after it was acknowledged and delivered.
type shadowRouter interface {
	// newConn returns the state for one new connection.
	newConn() shadowConn
	// handle processes one publish; it reports whether topic was a shadow
	// request topic.
	handle(c shadowConn, topic string, payload []byte) bool
	// close makes every accepted change durable and snapshots the shadows.
	close() error
	// recovered describes what was restored from the data directory.
	recovered() string
}
