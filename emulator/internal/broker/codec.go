package broker

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"github.com/mochi-mqtt/server/v2/packets"
)

// encodePacket appends pk encoded by the codec to dst.
func encodePacket(dst []byte, pk *packets.Packet) []byte {
	var b bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackEncode(&b)
	case packets.Suback:
		err = pk.SubackEncode(&b)
	case packets.Unsuback:
		err = pk.UnsubackEncode(&b)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&b)
	default:
		err = errors.New("not a server packet")
	}
	if err != nil {
		panic("broker: encode " + packets.PacketNames[pk.FixedHeader.Type] + ": " + err.Error())
	}
	return append(dst, b.Bytes()...)
}

// errTooLarge is returned by readPacket for a packet over the size limit;
// its body was not read.
var errTooLarge = errors.New("packet too large")

// maxPacketSize bounds what the broker reads: the largest payload AWS
// accepts plus room for the topic and properties.
const maxPacketSize = 128<<10 + 64<<10

// frame parses the fixed header at the start of b and returns it with its
// length; hdr is 0 while b does not hold all of it.
func frame(b []byte) (fh packets.FixedHeader, hdr int, err error) {
	if len(b) == 0 {
		return fh, 0, nil
	}
	if err := fh.Decode(b[0]); err != nil {
		return fh, 0, err
	}
	rem, shift, i := 0, 0, 1
	for {
		if i >= len(b) {
			return fh, 0, nil
		}
		d := b[i]
		i++
		rem |= int(d&0x7f) << shift
		if d&0x80 == 0 {
			break
		}
		if shift += 7; shift > 21 {
			return fh, 0, packets.ErrMalformedVariableByteInteger
		}
	}
	fh.Remaining = rem
	if rem > maxPacketSize {
		return fh, 0, errTooLarge
	}
	return fh, i, nil
}

// complete reports whether b starts with a whole packet, or with bytes
// that cannot start one.
func complete(b []byte) bool {
	fh, hdr, err := frame(b)
	return err != nil || hdr > 0 && len(b)-hdr >= fh.Remaining
}

// nextPacket parses the packet at the start of b: its fixed header, its
// body (a copy of its own, which the packet's strings and payload alias)
// and its length in b. n is 0 when b does not hold the whole packet yet.
func nextPacket(b []byte) (fh packets.FixedHeader, body []byte, n int, err error) {
	fh, hdr, err := frame(b)
	if err != nil || hdr == 0 || len(b)-hdr < fh.Remaining {
		return fh, nil, 0, err
	}
	if fh.Remaining > 0 {
		body = make([]byte, fh.Remaining)
		copy(body, b[hdr:])
	}
	return fh, body, hdr + fh.Remaining, nil
}

// readPacket reads one packet: its fixed header and its body, in a buffer
// of its own that the packet's strings and payload alias.
func readPacket(r *bufio.Reader) (packets.FixedHeader, []byte, error) {
	var fh packets.FixedHeader
	b, err := r.ReadByte()
	if err != nil {
		return fh, nil, err
	}
	if err := fh.Decode(b); err != nil {
		return fh, nil, err
	}
	n, _, err := packets.DecodeLength(r)
	if err != nil {
		return fh, nil, err
	}
	fh.Remaining = n
	if n > maxPacketSize {
		return fh, nil, errTooLarge
	}
	if n == 0 {
		return fh, nil, nil
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return fh, nil, err
	}
	return fh, body, nil
}
