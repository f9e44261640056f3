package emulator

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shadowload/shadowload/internal/mqttc"
)

// willProps are the MQTT 5 will properties the tests send; AWS carries them
// to the will's subscribers.
func willProps() *paho.WillProperties {
	return &paho.WillProperties{
		PayloadFormat:   ptr(byte(1)),
		MessageExpiry:   ptr(uint32(300)),
		ContentType:     "text/plain",
		ResponseTopic:   "will/reply",
		CorrelationData: []byte{1, 2, 3},
		User:            paho.UserProperties{{Key: "k", Value: "v1"}, {Key: "k", Value: "v2"}},
	}
}

// checkWillProps checks the properties of a will as paho.golang received it.
func checkWillProps(t *testing.T, p *paho.Publish) {
	t.Helper()
	pr := p.Properties
	if pr == nil || pr.ContentType != "text/plain" || pr.ResponseTopic != "will/reply" || !bytes.Equal(pr.CorrelationData, []byte{1, 2, 3}) ||
		pr.PayloadFormat == nil || *pr.PayloadFormat != 1 || pr.MessageExpiry == nil || *pr.MessageExpiry > 300 || *pr.MessageExpiry < 290 ||
		len(pr.User) != 2 || pr.User[0] != (paho.UserProperty{Key: "k", Value: "v1"}) || pr.User[1] != (paho.UserProperty{Key: "k", Value: "v2"}) {
		t.Fatalf("will properties %+v", pr)
	}
}

func TestLastWillCarriesMQTT5Properties(t *testing.T) {
	e := startEmulator(t, nil)
	open := provision(t, e, "thing-o", "open", openPolicy)
	watch := dial5(t, e, open, "will-watch")
	watch.subscribe(t, "will/#")
	jsWatch := startMQTTJS(t, e, open, map[string]any{"protocolVersion": 5, "clientId": "will-watch-js"},
		map[string]any{"op": "subscribe", "filters": map[string]any{"will/#": map[string]any{"qos": 1}}},
		map[string]any{"op": "wait", "messages": 2}, map[string]any{"op": "end"})
	jsWatch.next(t, "suback")

	// paho.golang v0.23 encodes a will's properties as CONNECT properties,
	// so only its user properties reach the broker; mqtt.js sends them all.
	t.Run("paho.golang will, connection lost", func(t *testing.T) {
		opts := dialOptions(e, open, "will-owner")
		opts.Will = &paho.WillMessage{Topic: "will/paho", QoS: 1, Payload: []byte("gone")}
		opts.WillProperties = willProps()
		c, err := mqttc.Dial(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		c.TerminateConnectionForTest()
		p := watch.expectMessage(t, "will/paho")
		if string(p.Payload) != "gone" || p.QoS != 1 {
			t.Fatalf("will %q QoS %d", p.Payload, p.QoS)
		}
		if u := p.Properties.User; len(u) != 2 || u[0].Value != "v1" || u[1].Value != "v2" {
			t.Fatalf("will user properties %+v", u)
		}
	})

	t.Run("mqtt.js will, socket destroyed", func(t *testing.T) {
		j := startMQTTJS(t, e, open, map[string]any{"protocolVersion": 5, "clientId": "will-owner-js",
			"will": map[string]any{"topic": "will/js", "payload": "js gone", "qos": 1, "properties": map[string]any{
				"contentType": "text/plain", "responseTopic": "will/reply", "payloadFormatIndicator": true,
				"correlationData": base64.StdEncoding.EncodeToString([]byte{1, 2, 3}), "messageExpiryInterval": 300,
				"userProperties": map[string]any{"k": []string{"v1", "v2"}}}}},
			map[string]any{"op": "destroy"})
		j.finish(t)
		p := watch.expectMessage(t, "will/js")
		if string(p.Payload) != "js gone" {
			t.Fatalf("will payload %q", p.Payload)
		}
		checkWillProps(t, p)
	})

	t.Run("mqtt.js receives the wills with their properties", func(t *testing.T) {
		got := messages(jsWatch.finish(t))
		if len(got) != 2 {
			t.Fatalf("mqtt.js watcher got %+v", got)
		}
		for _, m := range got {
			if m.Topic != "will/js" {
				continue
			}
			p := m.props(t)
			if p.ContentType != "text/plain" || p.ResponseTopic != "will/reply" || p.CorrelationData != "AQID" ||
				p.PayloadFormatIndicator == nil || !*p.PayloadFormatIndicator || p.MessageExpiryInterval == nil || *p.MessageExpiryInterval > 300 {
				t.Fatalf("will as mqtt.js got it: %s", m.Properties)
			}
		}
	})

	t.Run("client DISCONNECT discards the will", func(t *testing.T) {
		opts := dialOptions(e, open, "will-polite")
		opts.Will = &paho.WillMessage{Topic: "will/polite", QoS: 1, Payload: []byte("no")}
		c, err := mqttc.Dial(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
		waitConnected(t, e, 1)
		dial5(t, e, open, "marker").publish(t, "will/marker", nil, false)
		watch.expectMessage(t, "will/marker")
		watch.expectNoMessage(t, "will/polite")
	})

	t.Run("mosquitto 3.1.1 will, process killed", func(t *testing.T) {
		needMosquitto(t)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		sub := exec.CommandContext(ctx, "mosquitto_sub", append(mosquittoArgs(t, e, open, "will-mosq", "mqttv311"),
			"-t", "nothing/here", "--will-topic", "will/mosq", "--will-payload", "mosq gone", "--will-qos", "1")...)
		if err := sub.Start(); err != nil {
			t.Fatal(err)
		}
		waitSubscribed(t, e, "nothing/here")
		_ = sub.Process.Kill()
		_ = sub.Wait()
		if p := watch.expectMessage(t, "will/mosq"); string(p.Payload) != "mosq gone" {
			t.Fatalf("will payload %q", p.Payload)
		}
	})

	t.Run("retained will", func(t *testing.T) {
		opts := dialOptions(e, open, "will-retain")
		opts.Will = &paho.WillMessage{Topic: "will/retained", QoS: 1, Payload: []byte("last"), Retain: true}
		c, err := mqttc.Dial(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		c.TerminateConnectionForTest()
		watch.expectMessage(t, "will/retained")
		late := dial5(t, e, open, "will-late")
		late.subscribe(t, "will/retained")
		if p := late.expectMessage(t, "will/retained"); !p.Retain || string(p.Payload) != "last" {
			t.Fatalf("retained will %q retain=%v", p.Payload, p.Retain)
		}
	})

	t.Run("will QoS 2 refused", func(t *testing.T) {
		r := dialRaw(t, e, open)
		pk := connectPacket(5, "will-qos2")
		pk.Connect.WillFlag, pk.Connect.WillQos, pk.Connect.WillTopic, pk.Connect.WillPayload = true, 2, "will/q2", []byte("x")
		r.send(t, pk)
		if ack := r.read(t); ack.ReasonCode != 0x9B {
			t.Fatalf("CONNACK %#x, want 0x9B QoS not supported", ack.ReasonCode)
		}
		r3 := dialRaw(t, e, open)
		pk.ProtocolVersion = 4
		r3.send(t, pk)
		r3.expectClosed(t, 0)
	})
}

// TestTakeoverClosesTheOlderConnectionOfEveryClient checks client-ID
// takeover with three clients: an MQTT 5 connection gets DISCONNECT 0x8E, a
// 3.1.1 one is closed, and the older connection's will is published.
func TestTakeoverClosesTheOlderConnectionOfEveryClient(t *testing.T) {
	e := startEmulator(t, nil)
	open := provision(t, e, "thing-o", "open", openPolicy)
	watch := dial5(t, e, open, "take-watch")
	watch.subscribe(t, "take/#")

	t.Run("mqtt.js MQTT 5", func(t *testing.T) {
		j := startMQTTJS(t, e, open, map[string]any{"protocolVersion": 5, "clientId": "take-js",
			"will": map[string]any{"topic": "take/will", "payload": "taken", "qos": 1}},
			map[string]any{"op": "stay"})
		j.next(t, "connack")
		second := dial5(t, e, open, "take-js")
		if d := j.next(t, "disconnect"); d.ReasonCode != 0x8E {
			t.Fatalf("mqtt.js DISCONNECT %#x, want 0x8E", d.ReasonCode)
		}
		j.finish(t)
		watch.expectMessage(t, "take/will")
		second.publish(t, "take/alive", nil, false)
		watch.expectMessage(t, "take/alive")
	})

	t.Run("paho.mqtt.golang MQTT 3.1.1", func(t *testing.T) {
		lost := make(chan error, 1)
		c, err := dial3(e, open, "take-v3", lost, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Disconnect(0)
		dial5(t, e, open, "take-v3")
		select {
		case <-lost:
		case <-time.After(10 * time.Second):
			t.Fatal("3.1.1 connection not closed by the takeover")
		}
	})

	t.Run("persistent session moves to the new connection", func(t *testing.T) {
		opts := dialOptions(e, open, "take-persist")
		opts.CleanStart, opts.SessionExpiry = false, time.Hour
		first, err := tryDial5WithOptions(e, opts)
		if err != nil {
			t.Fatal(err)
		}
		first.subscribe(t, "take/persist")
		second, err := tryDial5WithOptions(e, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer second.Close()
		if !second.Connack.SessionPresent {
			t.Fatal("taking over a persistent session did not resume it")
		}
		watch.publish(t, "take/persist", []byte("p"), false)
		second.expectMessage(t, "take/persist")
	})
}

// TestWillSettings checks the two will behaviours AWS leaves open, as
// settings: by default a DISCONNECT with reason 0x04 discards the will and
// the Will Delay Interval is ignored; WillOnDisconnectWithWill and WillDelay
// follow MQTT 5 instead.
func TestWillSettings(t *testing.T) {
	withWill := func(t *testing.T, e *Emulator, clientID string, delay uint32) *rawClient {
		r := dialRaw(t, e, provision(t, e, "thing-o", "open", openPolicy))
		r.version = 5
		pk := connectPacket(5, clientID)
		pk.Connect.WillFlag, pk.Connect.WillQos, pk.Connect.WillTopic, pk.Connect.WillPayload = true, 1, "will/"+clientID, []byte("w")
		pk.Connect.WillProperties.WillDelayInterval = delay
		if delay > 0 {
			pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 60, true
		}
		r.send(t, pk)
		if ack := r.read(t); ack.ReasonCode != 0 {
			t.Fatalf("CONNACK %#x", ack.ReasonCode)
		}
		return r
	}
	disconnectWithWill := func(t *testing.T, r *rawClient) {
		if _, err := r.conn.Write([]byte{packets.Disconnect << 4, 1, 0x04}); err != nil {
			t.Fatal(err)
		}
		r.expectClosed(t, 0)
	}
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("WillOnDisconnectWithWill=%v", on), func(t *testing.T) {
			e := startEmulator(t, func(c *Config) { c.WillOnDisconnectWithWill = on })
			watch := dial5(t, e, provision(t, e, "thing-w", "open", openPolicy), "watch")
			watch.subscribe(t, "will/#")
			disconnectWithWill(t, withWill(t, e, "w04", 0))
			waitConnected(t, e, 1)
			watch.publish(t, "will/marker", nil, false)
			watch.expectMessage(t, "will/marker")
			if on {
				watch.expectMessage(t, "will/w04")
			} else {
				watch.expectNoMessage(t, "will/w04")
			}
		})
	}
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("WillDelay=%v", on), func(t *testing.T) {
			e := startEmulator(t, func(c *Config) { c.WillDelay = on })
			watch := dial5(t, e, provision(t, e, "thing-w", "open", openPolicy), "watch")
			watch.subscribe(t, "will/#")
			r := withWill(t, e, "wdelay", 1)
			start := time.Now()
			_ = r.raw.Close()
			watch.expectMessage(t, "will/wdelay")
			took := time.Since(start)
			if on && took < 900*time.Millisecond {
				t.Fatalf("will with a 1 s delay published after %v", took)
			}
			if !on && took > 900*time.Millisecond {
				t.Fatalf("will published after %v; the delay should be ignored", took)
			}
		})
	}
}
