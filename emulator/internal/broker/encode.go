package broker

import (
	"encoding/binary"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shadowload/shadowload/internal/mqttwire"
)

// The packets written on every delivery are encoded here, appending to the
// connection's write buffer without allocating; the rest go through the
// codec.

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, s []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// publishHeader describes one outgoing PUBLISH.
type publishHeader struct {
	qos      byte
	retain   bool
	id       uint16
	v5       bool
	props    *Properties
	expiry   uint32 // remaining Message Expiry Interval to send
	hasExpir bool   // send the Message Expiry Interval
}

// propsLen is the length of the properties h sends, without the length prefix.
func (h *publishHeader) propsLen() int {
	n := 0
	p := h.props
	if h.hasExpir {
		n += 5
	}
	if p == nil {
		return n
	}
	if p.HasPayloadFormat {
		n += 2
	}
	if p.ContentType != "" {
		n += 3 + len(p.ContentType)
	}
	if p.ResponseTopic != "" {
		n += 3 + len(p.ResponseTopic)
	}
	if len(p.CorrelationData) > 0 {
		n += 3 + len(p.CorrelationData)
	}
	for _, u := range p.User {
		n += 5 + len(u.Key) + len(u.Val)
	}
	return n
}

// publishSize returns the encoded size of a PUBLISH of topic and payload.
func publishSize(h *publishHeader, topic string, payload []byte) int {
	rem := 2 + len(topic) + len(payload)
	if h.qos > 0 {
		rem += 2
	}
	if h.v5 {
		pl := h.propsLen()
		rem += mqttwire.VarintLen(pl) + pl
	}
	return 1 + mqttwire.VarintLen(rem) + rem
}

// appendPublish appends a PUBLISH packet.
func appendPublish(b []byte, h *publishHeader, topic string, payload []byte) []byte {
	first := byte(packets.Publish<<4) | h.qos<<1
	if h.retain {
		first |= 1
	}
	rem := 2 + len(topic) + len(payload)
	if h.qos > 0 {
		rem += 2
	}
	pl := 0
	if h.v5 {
		pl = h.propsLen()
		rem += mqttwire.VarintLen(pl) + pl
	}
	b = append(b, first)
	b = mqttwire.AppendVarint(b, rem)
	b = appendString(b, topic)
	if h.qos > 0 {
		b = binary.BigEndian.AppendUint16(b, h.id)
	}
	if h.v5 {
		b = mqttwire.AppendVarint(b, pl)
		p := h.props
		if p != nil && p.HasPayloadFormat {
			b = append(b, packets.PropPayloadFormat, p.PayloadFormat)
		}
		if h.hasExpir {
			b = append(b, packets.PropMessageExpiryInterval)
			b = binary.BigEndian.AppendUint32(b, h.expiry)
		}
		if p != nil {
			if p.ContentType != "" {
				b = append(b, packets.PropContentType)
				b = appendString(b, p.ContentType)
			}
			if p.ResponseTopic != "" {
				b = append(b, packets.PropResponseTopic)
				b = appendString(b, p.ResponseTopic)
			}
			if len(p.CorrelationData) > 0 {
				b = append(b, packets.PropCorrelationData)
				b = appendBytes(b, p.CorrelationData)
			}
			for _, u := range p.User {
				b = append(b, packets.PropUser)
				b = appendString(b, u.Key)
				b = appendString(b, u.Val)
			}
		}
	}
	return append(b, payload...)
}

// appendPuback appends a PUBACK; code 0 is sent in the short form.
func appendPuback(b []byte, id uint16, code byte, v5 bool) []byte {
	if v5 && code != 0 {
		b = append(b, packets.Puback<<4, 3)
		b = binary.BigEndian.AppendUint16(b, id)
		return append(b, code)
	}
	b = append(b, packets.Puback<<4, 2)
	return binary.BigEndian.AppendUint16(b, id)
}

// appendPingresp appends a PINGRESP.
func appendPingresp(b []byte) []byte { return append(b, packets.Pingresp<<4, 0) }
