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
