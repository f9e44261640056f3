package emulator

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shadowload/shadowload/internal/mqttc"
)

func TestSubscribeLimitsMQTT5(t *testing.T) {
	e := startEmulator(t, nil)
	a := provision(t, e, "thing-a", "open", openPolicy)
	c := dial5(t, e, a, "thing-a")

	t.Run("nine filters in one SUBSCRIBE", func(t *testing.T) {
		var filters []string
		for i := range 9 {
			filters = append(filters, fmt.Sprintf("nine/%d", i))
		}
		got := c.subscribe(t, filters...)
		if !bytes.Equal(got, bytes.Repeat([]byte{0x97}, 9)) {
			t.Fatalf("SUBACK %x, want 0x97 for all nine", got)
		}
	})
	t.Run("QoS 2 is granted as QoS 1", func(t *testing.T) {
		ack, err := c.Subscribe(context.Background(), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "q2/x", QoS: 2}}})
		if err != nil {
			t.Fatal(err)
		}
		if ack.Reasons[0] != 0x01 {
			t.Fatalf("SUBACK %x, want granted QoS 1", ack.Reasons)
		}
	})
	t.Run("filter with 8 slashes", func(t *testing.T) {
		if got := c.subscribe(t, "a/b/c/d/e/f/g/h/i"); got[0] != 0x8F {
			t.Fatalf("SUBACK %x, want 0x8F", got)
		}
	})
	t.Run("filter over 256 bytes", func(t *testing.T) {
		if got := c.subscribe(t, strings.Repeat("x", 257)); got[0] != 0x8F {
			t.Fatalf("SUBACK %x, want 0x8F", got)
		}
	})
	t.Run("51st subscription", func(t *testing.T) {
		for i := 1; i < MaxSubscriptions; i++ { // q2/x is the first
			if got := c.subscribe(t, fmt.Sprintf("many/%d", i)); got[0] != 0x01 {
				t.Fatalf("subscription %d: SUBACK %x", i+1, got)
			}
		}
		if got := c.subscribe(t, "many/overflow"); got[0] != 0x97 {
			t.Fatalf("SUBACK %x, want 0x97", got)
		}
		if got := c.subscribe(t, "many/1"); got[0] != 0x01 {
			t.Fatalf("re-subscribing a held filter: SUBACK %x, want granted", got)
		}
		if _, err := c.Unsubscribe(context.Background(), &paho.Unsubscribe{Topics: []string{"many/1"}}); err != nil {
			t.Fatal(err)
		}
		if got := c.subscribe(t, "many/overflow"); got[0] != 0x01 {
			t.Fatalf("after UNSUBSCRIBE: SUBACK %x, want granted", got)
		}
	})
}

func TestPublishLimitsMQTT5(t *testing.T) {
	e := startEmulator(t, nil)
	a := provision(t, e, "thing-a", "open", openPolicy)
	c := dial5(t, e, a, "thing-a")
	tests := []struct {
		name   string
		topic  string
		retain bool
		want   byte
	}{
		{"RETAIN on a $ topic", "$aws/things/thing-a/shadow/x", true, 0x83},
		{"RETAIN elsewhere", "retained/x", true, 0x00},
		{"topic with 8 slashes", "a/b/c/d/e/f/g/h/i", false, 0x90},
		{"topic over 256 bytes", strings.Repeat("t", 257), false, 0x90},
		{"topic of 256 bytes and 7 slashes", strings.Repeat("t", 249) + "/a/b/c/d/e/f/g"[:7], false, 0x00},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.publish(t, tt.topic, []byte("x"), tt.retain); got != tt.want {
				t.Fatalf("PUBACK %s, want %s", mqttc.ReasonString(got), mqttc.ReasonString(tt.want))
			}
		})
	}
	t.Run("payload of 128 KiB is accepted", func(t *testing.T) {
		if got := c.publish(t, "big/x", make([]byte, MaxPayload), false); got != 0 {
			t.Fatalf("PUBACK %s", mqttc.ReasonString(got))
		}
	})
	t.Run("payload over 128 KiB closes the connection", func(t *testing.T) {
		_, _ = c.Publish(context.Background(), &paho.Publish{Topic: "big/x", QoS: 1, Payload: make([]byte, MaxPayload+1)})
		select {
		case d := <-c.disconnects:
			if d.ReasonCode != 0x95 {
				t.Fatalf("DISCONNECT %s, want 0x95", mqttc.ReasonString(d.ReasonCode))
			}
		case <-c.Done():
		}
		c.expectClosed(t)
	})
}

func TestAWSProfileThrottlesPublishes(t *testing.T) {
	e := startEmulator(t, func(c *Config) { c.Limits = LimitsAWS })
	a := provision(t, e, "thing-a", "open", openPolicy)
	c := dial5(t, e, a, "thing-a")
	var throttled int
	for range 2 * awsPublishesPerSec {
		if c.publish(t, "rate/x", []byte("x"), false) == 0x97 {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatal("no PUBACK 0x97 after 200 publishes in well under 2 s")
	}
}

func TestHashMatchesDollarSetting(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("HashMatchesDollar=%v", on), func(t *testing.T) {
			e := startEmulator(t, func(c *Config) { c.HashMatchesDollar = on })
			obs := provision(t, e, "observer-00", "observer", observerPolicy)
			a := provision(t, e, "thing-a", "thing", perThingPolicy)
			o := dial5(t, e, obs, "watch")
			if got := o.subscribe(t, "#"); got[0] != 0x01 {
				t.Fatalf("SUBACK %x", got)
			}
			ca := dial5(t, e, a, "thing-a")
			ca.publish(t, "$aws/things/thing-a/shadow/custom", []byte("x"), false)
			// A marker on a plain topic, published after, shows delivery is done.
			marker := provision(t, e, "thing-m", "open", openPolicy)
			cm := dial5(t, e, marker, "thing-m")
			cm.publish(t, "plain/marker", []byte("m"), false)
			if on {
				o.expectMessage(t, "$aws/things/thing-a/shadow/custom")
				o.expectMessage(t, "plain/marker")
			} else {
				o.expectMessage(t, "plain/marker")
				o.expectNoMessage(t, "$aws/things/thing-a/shadow/custom")
			}
			if _, err := o.Unsubscribe(context.Background(), &paho.Unsubscribe{Topics: []string{"#"}}); err != nil {
				t.Fatal(err)
			}
			if got := o.subscribe(t, "$aws/things/thing-m/shadow/marker"); got[0] != 0x01 {
				t.Fatalf("SUBACK %x", got)
			}
			ca.publish(t, "$aws/things/thing-a/shadow/custom", []byte("y"), false)
			cm.publish(t, "$aws/things/thing-m/shadow/marker", []byte("m"), false)
			o.expectMessage(t, "$aws/things/thing-m/shadow/marker")
			o.expectNoMessage(t, "$aws/things/thing-a/shadow/custom")
		})
	}
}

func TestParentFilterDoesNotReceiveParentTopic(t *testing.T) {
	e := startEmulator(t, nil)
	a := provision(t, e, "thing-a", "open", openPolicy)
	c := dial5(t, e, a, "thing-a")
	if got := c.subscribe(t, "sensors/#"); got[0] != 0x01 {
		t.Fatalf("SUBACK %x", got)
	}
	c.publish(t, "sensors", []byte("parent"), false)
	c.publish(t, "sensors/t1", []byte("child"), false)
	c.expectMessage(t, "sensors/t1")
	c.expectNoMessage(t, "sensors")
}

func TestOversizeQoS0PublishIsNotDelivered(t *testing.T) {
	e := startEmulator(t, nil)
	a := provision(t, e, "thing-a", "open", openPolicy)
	b := provision(t, e, "thing-b", "open", openPolicy)
	sub := dial5(t, e, a, "thing-a")
	if got := sub.subscribe(t, "big/#"); got[0] != 0x01 {
		t.Fatalf("SUBACK %x", got)
	}
	pub := dial5(t, e, b, "thing-b")
	_, _ = pub.Publish(context.Background(), &paho.Publish{Topic: "big/x", QoS: 0, Payload: make([]byte, MaxPayload+1)})
	pub.expectClosed(t)
	// The publisher's connection has ended on the broker once only the
	// subscriber is counted; anything it delivered is queued before this.
	waitConnected(t, e, 1)
	if code := sub.publish(t, "big/marker", []byte("m"), false); code != 0 {
		t.Fatalf("marker PUBACK %s", mqttc.ReasonString(code))
	}
	sub.expectMessage(t, "big/marker")
	sub.expectNoMessage(t, "big/x")
}

// TestResumedSessionCountsOwnDollarFilters checks that with
// HashMatchesDollar a resumed session counts exactly the filters the client
// holds toward the 50-subscription limit: "#" matching $aws topics costs no
// second subscription, and a $aws filter of the client's own counts.
func TestResumedSessionCountsOwnDollarFilters(t *testing.T) {
	e := startEmulator(t, func(c *Config) { c.HashMatchesDollar = true })
	a := provision(t, e, "thing-a", "open", openPolicy)
	opts := dialOptions(e, a, "thing-a")
	opts.CleanStart, opts.SessionExpiry = false, time.Hour
	c1, err := mqttc.Dial(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := c1.Subscribe(context.Background(), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
		{Topic: "#", QoS: 1}, {Topic: "$aws/things/thing-a/shadow/get/accepted", QoS: 1}}})
	if err != nil || ack.Reasons[0] != 1 || ack.Reasons[1] != 1 {
		t.Fatalf("SUBACK %v, %v", ack, err)
	}
	_ = c1.Close()
	c2, err := tryDial5WithOptions(e, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if !c2.Connack.SessionPresent {
		t.Fatal("persistent session not resumed")
	}
	for i := 3; i <= MaxSubscriptions; i++ {
		if got := c2.subscribe(t, fmt.Sprintf("more/%d", i)); got[0] != 0x01 {
			t.Fatalf("subscription %d: SUBACK %x", i, got)
		}
	}
	if got := c2.subscribe(t, "more/overflow"); got[0] != 0x97 {
		t.Fatalf("subscription %d: SUBACK %x, want 0x97", MaxSubscriptions+1, got)
	}
}

// TestThrottledMQTT311PublishGetsThroughOnRetry checks AWS's handling of a
// 3.1.1 client over 100 publishes/s (aws profile): the excess QoS 1
// publishes get no PUBACK and the connection stays up, so a client that
// sends them again once the rate allows gets them acknowledged.
// TestDisconnectOnThrottleClosesOverRateConnections: with the setting, a
// connection over the per-connection publish rate is closed, MQTT 5 with
// DISCONNECT 0x97 (paho.golang), 3.1.1 without one (paho.mqtt.golang), and
// the lifecycle says THROTTLED.
func TestDisconnectOnThrottleClosesOverRateConnections(t *testing.T) {
	e := startEmulator(t, func(c *Config) { c.Limits = LimitsAWS; c.DisconnectOnThrottle = true })
	open := provision(t, e, "thing-o", "open", openPolicy)
	w := dial5(t, e, open, "watcher")
	w.subscribe(t, "$aws/events/presence/disconnected/+")

	t.Run("MQTT 5", func(t *testing.T) {
		c := dial5(t, e, open, "fast-5")
		// QoS 1, so the client reads its socket until the DISCONNECT; the
		// publish that crosses the rate gets no PUBACK.
		for range 2 * awsPublishesPerSec {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			resp, err := c.Publish(ctx, &paho.Publish{Topic: "rate/x", QoS: 1, Payload: []byte("x")})
			cancel()
			if err != nil || resp.ReasonCode != 0 {
				break
			}
		}
		c.expectServerDisconnect(t, 0x97)
		if ev := w.expectEvent(t, "$aws/events/presence/disconnected/fast-5"); ev.DisconnectReason != "THROTTLED" {
			t.Errorf("disconnectReason %q, want THROTTLED", ev.DisconnectReason)
		}
	})

	t.Run("MQTT 3.1.1", func(t *testing.T) {
		lost := make(chan error, 1)
		c, err := dial3(e, open, "fast-311", lost, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Disconnect(0)
		for range 2 * awsPublishesPerSec {
			if !c.IsConnectionOpen() {
				break
			}
			c.Publish("rate/x", 0, false, "x")
		}
		select {
		case <-lost:
		case <-time.After(10 * time.Second):
			t.Fatal("3.1.1 connection still open after publishing over the rate")
		}
		if ev := w.expectEvent(t, "$aws/events/presence/disconnected/fast-311"); ev.DisconnectReason != "THROTTLED" {
			t.Errorf("disconnectReason %q, want THROTTLED", ev.DisconnectReason)
		}
	})
}

func TestThrottledMQTT311PublishGetsThroughOnRetry(t *testing.T) {
	e := startEmulator(t, func(c *Config) { c.Limits = LimitsAWS })
	open := provision(t, e, "thing-o", "open", openPolicy)
	r := dialRaw(t, e, open)
	r.connect(t, 4, "throttled")
	const n = 150
	acked := map[uint16]bool{}
	// round sends the publishes not yet acknowledged, then a PINGREQ: the
	// PUBACKs the broker sends come before its PINGRESP.
	round := func(dup bool) {
		for id := uint16(1); id <= n; id++ {
			if !acked[id] {
				r.send(t, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1, Dup: dup}, ProtocolVersion: 4,
					PacketID: id, TopicName: "rate/x", Payload: []byte("x")})
			}
		}
		if _, err := r.conn.Write([]byte{packets.Pingreq << 4, 0}); err != nil {
			t.Fatal(err)
		}
		for {
			pk := r.read(t)
			if pk.FixedHeader.Type == packets.Pingresp {
				return
			}
			if pk.FixedHeader.Type == packets.Puback {
				acked[pk.PacketID] = true
			}
		}
	}
	round(false)
	first := len(acked)
	if first >= n || first < awsPublishesPerSec/2 {
		t.Fatalf("%d of %d publishes acknowledged at once; want about %d (the rate) and the rest unanswered", first, n, awsPublishesPerSec)
	}
	for try := 0; len(acked) < n && try < 5; try++ {
		time.Sleep(time.Second) // the rate refills
		round(true)
	}
	if len(acked) != n {
		t.Fatalf("%d of %d publishes acknowledged after retries", len(acked), n)
	}
}
