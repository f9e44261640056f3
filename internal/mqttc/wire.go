package mqttc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shadowload/shadowload/internal/mqttwire"
)

// The packets every message costs are encoded and decoded here, in place and
// without allocating; the rest go through mochi-mqtt's codec.

// appendPublish appends a PUBLISH of payload to topic; an MQTT 5 one
// carries no properties.
func appendPublish(b []byte, v5 bool, qos byte, id uint16, topic string, payload []byte) []byte {
	rem := 2 + len(topic) + len(payload)
	if qos > 0 {
		rem += 2
	}
	if v5 {
		rem++ // property length 0
	}
	b = append(b, packets.Publish<<4|qos<<1)
	b = mqttwire.AppendVarint(b, rem)
	b = binary.BigEndian.AppendUint16(b, uint16(len(topic)))
	b = append(b, topic...)
	if qos > 0 {
		b = binary.BigEndian.AppendUint16(b, id)
	}
	if v5 {
		b = append(b, 0)
	}
	return append(b, payload...)
}

// appendPuback appends a PUBACK for id: success, which both protocols
// write as the packet ID alone.
func appendPuback(b []byte, id uint16) []byte {
	b = append(b, packets.Puback<<4, 2)
	return binary.BigEndian.AppendUint16(b, id)
}

var errMalformed = errors.New("malformed packet")

// parsePublish returns the topic, packet ID and payload of a PUBLISH body.
// topic and payload alias body.
func parsePublish(fh packets.FixedHeader, body []byte, v5 bool) (topic string, id uint16, payload []byte, err error) {
	if len(body) < 2 {
		return "", 0, nil, errMalformed
	}
	n := int(binary.BigEndian.Uint16(body))
	off := 2 + n
	if off > len(body) {
		return "", 0, nil, errMalformed
	}
	if n > 0 {
		topic = unsafe.String(&body[2], n)
	}
	if fh.Qos > 0 {
		if off+2 > len(body) {
			return "", 0, nil, errMalformed
		}
		id = binary.BigEndian.Uint16(body[off:])
		off += 2
	}
	if v5 {
		plen, used, ok := varint(body[off:])
		if !ok || off+used+plen > len(body) {
			return "", 0, nil, errMalformed
		}
		off += used + plen
	}
	return topic, id, body[off:], nil
}

// varint decodes an MQTT variable byte integer at the start of b, returning
// its value and length; ok is false when b holds no complete one.
func varint(b []byte) (v, n int, ok bool) {
	mul := 1
	for n < 4 && n < len(b) {
		c := b[n]
		v += int(c&0x7f) * mul
		n++
		if c&0x80 == 0 {
			return v, n, true
		}
		mul *= 128
	}
	return 0, 0, false
}

// maxPacketSize bounds what a Conn reads: the largest payload AWS sends
// plus room for the topic and properties.
const maxPacketSize = 128<<10 + 64<<10

// readBufferSize is a connection's read buffer between packets; it grows for
// a larger packet and returns to this size after it.
const readBufferSize = 1024

// reader cuts whole packets out of a stream, reading as much as the stream
// has ready at a time into one reused buffer.
type reader struct {
	src   io.Reader
	buf   []byte // unread data is buf[start:]
	start int
	taken int // the length of the packet next returned, until release
}

// frame reports the packet at the start of b: its header and body, and its
// whole length; ok is false when b does not hold all of it yet.
func frame(b []byte) (fh packets.FixedHeader, body []byte, size int, ok bool, err error) {
	if len(b) < 2 {
		return fh, nil, 0, false, nil
	}
	rem, n, complete := varint(b[1:])
	if !complete {
		if len(b) >= 5 {
			return fh, nil, 0, false, fmt.Errorf("%w: remaining length", errMalformed)
		}
		return fh, nil, 0, false, nil
	}
	if rem > maxPacketSize {
		return fh, nil, 0, false, fmt.Errorf("%w: a %d-byte packet is over the %d-byte limit", errMalformed, rem, maxPacketSize)
	}
	if err := fh.Decode(b[0]); err != nil {
		return fh, nil, 0, false, err
	}
	fh.Remaining = rem
	size = 1 + n + rem
	if len(b) < size {
		return fh, nil, size, false, nil
	}
	return fh, b[1+n : size], size, true, nil
}

// next returns the next packet, reading when the buffer holds no whole one.
// The body aliases the buffer: it is valid until release.
func (r *reader) next() (packets.FixedHeader, []byte, error) {
	for {
		fh, body, size, ok, err := frame(r.buf[r.start:])
		if err != nil {
			return fh, nil, err
		}
		if ok {
			r.taken = size
			return fh, body, nil
		}
		if r.start > 0 {
			n := copy(r.buf, r.buf[r.start:])
			r.buf, r.start = r.buf[:n], 0
		}
		if len(r.buf) == cap(r.buf) {
			grown := make([]byte, len(r.buf), max(2*cap(r.buf), size))
			copy(grown, r.buf)
			r.buf = grown
		}
		n, err := r.src.Read(r.buf[len(r.buf):cap(r.buf)])
		r.buf = r.buf[:len(r.buf)+n]
		if n == 0 && err != nil {
			return fh, nil, err
		}
	}
}

// more reports whether a whole packet after the one taken is buffered.
func (r *reader) more() bool {
	_, _, _, ok, _ := frame(r.buf[r.start+r.taken:])
	return ok
}

// release gives back the packet next returned.
func (r *reader) release() {
	r.start += r.taken
	r.taken = 0
	if r.start == len(r.buf) {
		r.buf, r.start = r.buf[:0], 0
		if cap(r.buf) > maxKeptBuffer {
			r.buf = make([]byte, 0, readBufferSize)
		}
	}
}
