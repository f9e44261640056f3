package emulator

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"
)

func TestConnackPropertiesAsAWSSendsThem(t *testing.T) {
	e := startEmulator(t, nil)
	open := provision(t, e, "thing-o", "open", openPolicy)
	c := dial5(t, e, open, "props")
	p := c.Connack.Properties
	if p.TopicAliasMaximum == nil || *p.TopicAliasMaximum != 8 || p.SubIDAvailable ||
		p.ReceiveMaximum == nil || *p.ReceiveMaximum != 100 || p.MaximumQoS == nil || *p.MaximumQoS != 1 {
		t.Fatalf("paho.golang CONNACK properties %+v", p)
	}
	j := startMQTTJS(t, e, open, map[string]any{"protocolVersion": 5, "clientId": ""}, map[string]any{"op": "end"})
	jp := j.next(t, "connack").props(t)
	if jp.TopicAliasMaximum != 8 || jp.SubIdentifiersAvail == nil || *jp.SubIdentifiersAvail || jp.ReceiveMaximum != 100 ||
		jp.MaximumQoS == nil || *jp.MaximumQoS != 1 || len(jp.AssignedClientID) < 10 || jp.AssignedClientID[:5] != "$GEN/" {
		t.Fatalf("mqtt.js CONNACK properties %+v", jp)
	}
	j.finish(t)
	// A client ID starting with $ is AWS's to assign.
	r := dialRaw(t, e, open)
	r.send(t, connectPacket(5, "$mine"))
	if ack := r.read(t); ack.ReasonCode != 0x85 {
		t.Fatalf("CONNACK %#x for a $ client ID, want 0x85", ack.ReasonCode)
	}
}

// TestPublishPropertiesForwarded checks that user properties (in order,
// duplicates kept), payload format, content type, response topic and
// correlation data reach MQTT 5 subscribers, that the message expiry is
// clamped to 7 days and forwarded as time left, and that the PUBACK to a
// publish with user properties is a plain success.
func TestPublishPropertiesForwarded(t *testing.T) {
	e := startEmulator(t, nil)
	open := provision(t, e, "thing-o", "open", openPolicy)
	sub := dial5(t, e, open, "props-sub")
	sub.subscribe(t, "props/#")
	j := startMQTTJS(t, e, open, map[string]any{"protocolVersion": 5, "clientId": "props-js"},
		map[string]any{"op": "subscribe", "filters": map[string]any{"props/#": map[string]any{"qos": 1}}},
		map[string]any{"op": "publish", "topic": "props/js", "payload": "from js", "qos": 1,
			"properties": map[string]any{"userProperties": map[string]any{"a": "1"}, "contentType": "text/plain"}},
		map[string]any{"op": "wait", "messages": 2}, map[string]any{"op": "end"})
	j.next(t, "suback")

	pub := dial5(t, e, open, "props-pub")
	resp, err := pub.Publish(context.Background(), &paho.Publish{Topic: "props/go", QoS: 1, Payload: []byte("from go"),
		Properties: &paho.PublishProperties{
			PayloadFormat: ptr(byte(1)), MessageExpiry: ptr(uint32(10_000_000)), ContentType: "application/json",
			ResponseTopic: "props/reply", CorrelationData: []byte("corr"),
			User: paho.UserProperties{{Key: "k", Value: "1"}, {Key: "z", Value: "2"}, {Key: "k", Value: "3"}}}})
	if err != nil || resp.ReasonCode != 0 || (resp.Properties != nil && len(resp.Properties.User) > 0) {
		t.Fatalf("PUBACK %+v %v, want success without properties", resp, err)
	}
	got := sub.expectMessage(t, "props/go")
	pr := got.Properties
	if pr == nil || *pr.PayloadFormat != 1 || pr.ContentType != "application/json" || pr.ResponseTopic != "props/reply" ||
		!bytes.Equal(pr.CorrelationData, []byte("corr")) || pr.MessageExpiry == nil || *pr.MessageExpiry > 604800 || *pr.MessageExpiry < 604790 ||
		fmt.Sprint(pr.User) != fmt.Sprint(paho.UserProperties{{Key: "k", Value: "1"}, {Key: "z", Value: "2"}, {Key: "k", Value: "3"}}) {
		t.Fatalf("forwarded properties %+v", pr)
	}
	if ack := j.next(t, "puback"); ack.Error != "" || ack.ReasonCode != 0 {
		t.Fatalf("mqtt.js PUBACK to a publish with user properties: %+v", ack)
	}
	if js := sub.expectMessage(t, "props/js"); js.Properties.ContentType != "text/plain" || len(js.Properties.User) != 1 {
		t.Fatalf("mqtt.js publish as paho got it: %+v", js.Properties)
	}
	for _, m := range messages(j.finish(t)) {
		if m.Topic == "props/go" {
			p := m.props(t)
			if p.ContentType != "application/json" || p.ResponseTopic != "props/reply" || p.CorrelationData != "Y29ycg==" ||
				p.MessageExpiryInterval == nil || *p.MessageExpiryInterval > 604800 {
				t.Fatalf("mqtt.js got %s", m.Properties)
			}
		}
	}
}

func TestTopicAliasesInbound(t *testing.T) {
	e := startEmulator(t, nil)
	open := provision(t, e, "thing-o", "open", openPolicy)
	sub := dial5(t, e, open, "alias-sub")
	sub.subscribe(t, "alias/#")
	r := dialRaw(t, e, open)
	r.connect(t, 5, "alias-pub")
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, ProtocolVersion: 5, TopicName: "alias/long/topic",
		Payload: []byte("1"), Properties: packets.Properties{TopicAlias: 3, TopicAliasFlag: true}}
	r.send(t, pk)
	pk.TopicName, pk.Payload = "", []byte("2")
	r.send(t, pk)
	for _, want := range []string{"1", "2"} {
		if p := sub.expectMessage(t, "alias/long/topic"); string(p.Payload) != want {
			t.Fatalf("payload %q, want %q", p.Payload, want)
		}
	}
	pk.Properties.TopicAlias, pk.TopicName = 9, "alias/x"
	r.send(t, pk)
	r.expectClosed(t, 0x94)
}

// TestReasonCodesOfRefusedPackets checks the packets AWS refuses by closing
// the connection: MQTT 5 with a DISCONNECT naming the reason.
func TestReasonCodesOfRefusedPackets(t *testing.T) {
	e := startEmulator(t, nil)
	open := provision(t, e, "thing-o", "open", openPolicy)
	tests := []struct {
		name    string
		version byte
		pk      packets.Packet
		want    byte
	}{
		{"subscription identifier", 5, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1,
			Filters: packets.Subscriptions{{Filter: "a/b", Qos: 1}}, Properties: packets.Properties{SubscriptionIdentifier: []int{7}}}, 0xA1},
		{"QoS 2 publish", 5, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 2}, PacketID: 1, TopicName: "a/b"}, 0x9B},
		{"QoS 2 publish 3.1.1", 4, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 2}, PacketID: 1, TopicName: "a/b"}, 0},
		{"QoS 2 subscribe 3.1.1", 4, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1,
			Filters: packets.Subscriptions{{Filter: "a/b", Qos: 2}}}, 0},
		{"second CONNECT", 5, connectPacket(5, "again"), 0x82},
		{"second CONNECT 3.1.1", 4, connectPacket(4, "again"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dialRaw(t, e, open)
			r.connect(t, tt.version, "refused")
			tt.pk.ProtocolVersion = tt.version
			r.send(t, tt.pk)
			r.expectClosed(t, tt.want)
		})
	}
	t.Run("3.1.1 password without user name", func(t *testing.T) {
		r := dialRaw(t, e, open)
		pk := connectPacket(4, "nouser")
		pk.Connect.PasswordFlag, pk.Connect.Password = true, []byte("pw")
		r.send(t, pk)
		r.expectClosed(t, 0)
	})
}

// TestSharedSubscriptions checks that each message reaches one member of a
// $share group (members on paho.golang and mqtt.js), and that the
// $share/{name}/ prefix does not count toward the 7-slash limit.
func TestSharedSubscriptions(t *testing.T) {
	e := startEmulator(t, nil)
	open := provision(t, e, "thing-o", "open", openPolicy)
	const n = 30
	m1, m2 := dial5(t, e, open, "share-1"), dial5(t, e, open, "share-2")
	for _, m := range []*client5{m1, m2} {
		if got := m.subscribe(t, "$share/g/shared/x", "shared/done"); got[0] != 1 || got[1] != 1 {
			t.Fatalf("SUBACK %x", got)
		}
	}
	j := startMQTTJS(t, e, open, map[string]any{"protocolVersion": 5, "clientId": "share-js"},
		map[string]any{"op": "subscribe", "filters": map[string]any{"$share/g/shared/x": map[string]any{"qos": 1}, "shared/done": map[string]any{"qos": 1}}},
		map[string]any{"op": "waitTopic", "topic": "shared/done"}, map[string]any{"op": "end"})
	j.next(t, "suback")
	pub := dial5(t, e, open, "share-pub")
	for i := range n {
		pub.publish(t, "shared/x", []byte(fmt.Sprint(i)), false)
	}
	pub.publish(t, "shared/done", nil, false)
	// Each connection gets its messages in order: once shared/done is in,
	// so are its shares.
	count := func(c *client5) int {
		c.expectMessage(t, "shared/done")
		k := 0
		for _, p := range c.pending {
			if p.Topic == "shared/x" {
				k++
			}
		}
		return k
	}
	got := count(m1) + count(m2)
	for _, m := range messages(j.finish(t)) {
		if m.Topic == "shared/x" {
			got++
		}
	}
	if got != n {
		t.Fatalf("the group received %d messages in all, want each of %d exactly once", got, n)
	}
	if c := m1.subscribe(t, "$share/g/1/2/3/4/5/6/7/#"); c[0] != 1 {
		t.Fatalf("SUBACK %x for a shared filter with 7 slashes after the prefix", c)
	}
}
