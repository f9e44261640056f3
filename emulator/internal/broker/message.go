package broker

import (
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shadowload/shadowload/internal/iotcore"
)

// Properties are the MQTT 5 properties a message carries to its
// subscribers. A 3.1.1 subscriber gets the message without them.
type Properties struct {
	PayloadFormat     byte // 1: UTF-8 text; meaningful when HasPayloadFormat
	HasPayloadFormat  bool
	ContentType       string
	ResponseTopic     string
	CorrelationData   []byte
	User              []packets.UserProperty
	MessageExpirySecs uint32 // as published, clamped to AWS's bounds; 0 = none
}

// message is one published message, shared read-only by every delivery of it.
type message struct {
	topic   string
	payload []byte
	qos     byte
	retain  bool // published with RETAIN
	props   *Properties
	// expires is when the message expires, in nanoseconds of the server's
	// clock; 0 means never.
	expires int64
	// origin is the publishing session, for No Local; nil for the server's
	// own publishes.
	origin *session
}

// propsFrom takes the forwarded properties of a decoded PUBLISH or will.
// strings alias the packet buffer, which the message keeps alive.
func propsFrom(p *packets.Properties) *Properties {
	if !p.PayloadFormatFlag && p.ContentType == "" && p.ResponseTopic == "" && len(p.CorrelationData) == 0 &&
		len(p.User) == 0 && p.MessageExpiryInterval == 0 {
		return nil
	}
	out := &Properties{
		PayloadFormat:    p.PayloadFormat,
		HasPayloadFormat: p.PayloadFormatFlag,
		ContentType:      p.ContentType,
		ResponseTopic:    p.ResponseTopic,
		CorrelationData:  p.CorrelationData,
		User:             p.User,
	}
	if p.MessageExpiryInterval > 0 {
		out.MessageExpirySecs = iotcore.ClampMessageExpiry(p.MessageExpiryInterval)
	}
	return out
}

// expiryOf returns when a message with properties p published at now
// expires, or 0 for never. The codec keeps no flag for the Message Expiry
// Interval, so a 0 on the wire (which AWS raises to 1) reads as absent.
func expiryOf(p *Properties, now int64) int64 {
	if p == nil || p.MessageExpirySecs == 0 {
		return 0
	}
	return now + int64(p.MessageExpirySecs)*1e9
}

// Will is a connection's Last Will as its CONNECT gave it.
type Will struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	Props   *Properties
	// DelaySecs is the MQTT 5 Will Delay Interval.
	DelaySecs uint32
}

func secondsDuration(s uint32) time.Duration { return time.Duration(s) * time.Second }
