package emulator

import (
	"context"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// loopbackOnlyPublish lets a client connect from anywhere, publish its
// will anywhere, and otherwise publish only from 10.0.0.0/8 and subscribe
// only from 10.0.0.0/8 or 192.0.2.0/24: loopback clients are refused
// iot:Publish and iot:Subscribe for their address.
const loopbackOnlyPublish = `{"Version":"2012-10-17","Statement":[
	{"Effect":"Allow","Action":["iot:Connect","iot:Subscribe","iot:Receive"],"Resource":"*"},
	{"Effect":"Allow","Action":"iot:Publish","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},
	{"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:*:*:topic/will/*"},
	{"Effect":"Deny","Action":"iot:Subscribe","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24"]}}}]}`

// TestSourceIPConditions: aws:SourceIp conditions are evaluated against the
// client's address; a live 3.1.1 connection refused for its address is
// closed with FORBIDDEN_ACCESS (its will published: it was active), an
// MQTT 5 one gets PUBACK/SUBACK 0x87 and stays; a CONNECT refused for its
// address is a connect_failed.
func TestSourceIPConditions(t *testing.T) {
	e := startEmulator(t, nil)
	open := provision(t, e, "watcher", "open", openPolicy)
	limited := provision(t, e, "limited", "from-ten", loopbackOnlyPublish)
	w := dial5(t, e, open, "watcher")
	w.subscribe(t, "$aws/events/presence/+/+", "will/#")

	t.Run("MQTT 5 refusals keep the connection", func(t *testing.T) {
		c := dial5(t, e, limited, "limited-5")
		if code := c.publish(t, "data/x", []byte("x"), false); code != 0x87 {
			t.Errorf("PUBACK 0x%02x, want 0x87", code)
		}
		if codes := c.subscribe(t, "data/#"); len(codes) != 1 || codes[0] != 0x87 {
			t.Errorf("SUBACK %x, want 87", codes)
		}
		if code := c.publish(t, "data/y", []byte("y"), false); code != 0x87 {
			t.Errorf("second PUBACK 0x%02x: the connection should still answer", code)
		}
	})

	t.Run("MQTT 3.1.1 publish closes with FORBIDDEN_ACCESS", func(t *testing.T) {
		lost := make(chan error, 1)
		c, err := dial3(e, limited, "limited-311", lost, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Disconnect(0)
		w.expectEvent(t, "$aws/events/presence/connected/limited-311")
		c.Publish("data/x", 1, false, "x")
		select {
		case <-lost:
		case <-time.After(10 * time.Second):
			t.Fatal("3.1.1 connection still open after a publish refused for its address")
		}
		if ev := w.expectEvent(t, "$aws/events/presence/disconnected/limited-311"); ev.DisconnectReason != "FORBIDDEN_ACCESS" {
			t.Errorf("disconnectReason %q, want FORBIDDEN_ACCESS", ev.DisconnectReason)
		}
	})

	t.Run("MQTT 5 with disconnect on denied publish", func(t *testing.T) {
		e2 := startEmulator(t, func(c *Config) { c.DisconnectOnDeniedPublish = true })
		open2 := provision(t, e2, "watcher", "open", openPolicy)
		limited2 := provision(t, e2, "limited", "from-ten", loopbackOnlyPublish)
		w2 := dial5(t, e2, open2, "watcher")
		w2.subscribe(t, "$aws/events/presence/disconnected/+", "will/#")
		opts := dialOptions(e2, limited2, "limited-5w")
		opts.Will = &paho.WillMessage{Topic: "will/limited", QoS: 1, Payload: []byte("gone")}
		c, err := tryDial5WithOptions(e2, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = c.Publish(ctx, &paho.Publish{Topic: "data/x", QoS: 1, Payload: []byte("x")})
		c.expectClosed(t)
		if ev := w2.expectEvent(t, "$aws/events/presence/disconnected/limited-5w"); ev.DisconnectReason != "FORBIDDEN_ACCESS" {
			t.Errorf("disconnectReason %q, want FORBIDDEN_ACCESS", ev.DisconnectReason)
		}
		if p := w2.expectMessage(t, "will/limited"); string(p.Payload) != "gone" {
			t.Errorf("will %q", p.Payload)
		}
	})

	t.Run("CONNECT refused for the address", func(t *testing.T) {
		only := provision(t, e, "remote-only", "remote-only",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}`)
		if _, err := tryDial5(e, only, "remote-only"); err == nil {
			t.Fatal("connected from loopback with a policy for 203.0.113.0/24 only")
		}
		if ev := w.expectEvent(t, "$aws/events/presence/connect_failed/remote-only"); ev.ConnectFailureReason != "AUTHORIZATION_FAILED" {
			t.Errorf("connect_failed %+v", ev)
		}
	})
}
