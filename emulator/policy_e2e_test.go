package emulator

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/shadowload/shadowload/internal/mqttc"
)

func TestPolicyMatrixMQTT5(t *testing.T) {
	e := startEmulator(t, nil)
	a := provision(t, e, "thing-a", "thing", perThingPolicy)
	provision(t, e, "thing-b", "thing", perThingPolicy)
	ca := dial5(t, e, a, "thing-a")

	subTests := []struct {
		filter string
		want   byte
	}{
		{"$aws/things/thing-a/shadow/update/accepted", 0x01},
		{"$aws/things/thing-a/shadow/name/cfg/get/accepted", 0x01},
		{"$aws/things/thing-b/shadow/update/accepted", 0x87},
		{"$aws/things/+/shadow/update/accepted", 0x87},
		{"#", 0x87},
	}
	for _, tt := range subTests {
		t.Run("subscribe "+tt.filter, func(t *testing.T) {
			if got := ca.subscribe(t, tt.filter); len(got) != 1 || got[0] != tt.want {
				t.Fatalf("SUBACK %x, want %s", got, mqttc.ReasonString(tt.want))
			}
		})
	}
	pubTests := []struct {
		topic string
		want  byte
	}{
		{"$aws/things/thing-a/shadow/update/x", 0x00},
		{"$aws/things/thing-b/shadow/update/x", 0x87},
		{"thing-a/telemetry", 0x87},
	}
	for _, tt := range pubTests {
		t.Run("publish "+tt.topic, func(t *testing.T) {
			if got := ca.publish(t, tt.topic, []byte("{}"), false); got != tt.want {
				t.Fatalf("PUBACK %s, want %s", mqttc.ReasonString(got), mqttc.ReasonString(tt.want))
			}
		})
	}
	t.Run("connection survives denials", func(t *testing.T) {
		ca.subscribe(t, "$aws/things/thing-a/shadow/custom")
		if got := ca.publish(t, "$aws/things/thing-a/shadow/custom", []byte("1"), false); got != 0 {
			t.Fatalf("PUBACK %s", mqttc.ReasonString(got))
		}
		ca.expectMessage(t, "$aws/things/thing-a/shadow/custom")
	})
}

func TestWildcardSubscribeNeedsTheLiteralFilterInPolicy(t *testing.T) {
	e := startEmulator(t, nil)
	obs := provision(t, e, "observer-00", "observer", observerPolicy)
	a := provision(t, e, "thing-a", "thing", perThingPolicy)
	o := dial5(t, e, obs, "fleet-watch")
	if got := o.subscribe(t, "$aws/things/+/shadow/custom"); got[0] != 0x01 {
		t.Fatalf("observer wildcard SUBACK %x, want granted", got)
	}
	ca := dial5(t, e, a, "thing-a")
	ca.publish(t, "$aws/things/thing-a/shadow/custom", []byte("x"), false)
	o.expectMessage(t, "$aws/things/thing-a/shadow/custom")
}

func TestDeniedReceiveIsDroppedSilently(t *testing.T) {
	e := startEmulator(t, nil)
	eve := provision(t, e, "thing-eve", "recv-own", receiveOwnOnlyPolicy)
	a := provision(t, e, "thing-a", "open", openPolicy)
	ce := dial5(t, e, eve, "thing-eve")
	if got := ce.subscribe(t, "$aws/things/+/shadow/custom"); got[0] != 0x01 {
		t.Fatalf("SUBACK %x", got)
	}
	if got := ce.subscribe(t, "open/#"); got[0] != 0x01 {
		t.Fatalf("SUBACK %x", got)
	}
	ca := dial5(t, e, a, "thing-a")
	ca.publish(t, "$aws/things/thing-a/shadow/custom", []byte("secret"), false)
	ca.publish(t, "open/x", []byte("secret"), false)
	ca.publish(t, "$aws/things/thing-eve/shadow/custom", []byte("mine"), false)
	ce.expectMessage(t, "$aws/things/thing-eve/shadow/custom")
	ce.expectNoMessage(t, "$aws/things/thing-a/shadow/custom")
	ce.expectNoMessage(t, "open/x")
	if n := e.srv.Stats().DeniedReceive; n < 2 {
		t.Fatalf("dropped deliveries = %d, want at least 2", n)
	}
}

func TestDenialsCloseMQTT311Connections(t *testing.T) {
	e := startEmulator(t, nil)
	a := provision(t, e, "thing-a", "thing", perThingPolicy)
	tests := []struct {
		name string
		do   func(c pahov3.Client) pahov3.Token
	}{
		{"publish QoS 1 on another thing's topic", func(c pahov3.Client) pahov3.Token {
			return c.Publish("$aws/things/thing-b/shadow/update", 1, false, "{}")
		}},
		{"publish QoS 0 on another thing's topic", func(c pahov3.Client) pahov3.Token {
			return c.Publish("$aws/things/thing-b/shadow/update", 0, false, "{}")
		}},
		{"subscribe to another thing's topic", func(c pahov3.Client) pahov3.Token {
			return c.Subscribe("$aws/things/thing-b/shadow/update/accepted", 1, nil)
		}},
		{"RETAIN on a $ topic", func(c pahov3.Client) pahov3.Token {
			return c.Publish("$aws/things/thing-a/shadow/x", 1, true, "{}")
		}},
		{"publish QoS 2", func(c pahov3.Client) pahov3.Token {
			return c.Publish("$aws/things/thing-a/shadow/x", 2, false, "{}")
		}},
		{"topic with 8 slashes", func(c pahov3.Client) pahov3.Token {
			return c.Publish("$aws/things/thing-a/shadow/a/b/c/d/e", 1, false, "{}")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lost := make(chan error, 1)
			c, err := dial3(e, a, "thing-a", lost, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Disconnect(0)
			tt.do(c).WaitTimeout(2 * time.Second)
			select {
			case <-lost:
			case <-time.After(10 * time.Second):
				t.Fatal("connection still open after the refusal")
			}
		})
	}
	t.Run("allowed traffic keeps the connection", func(t *testing.T) {
		got := make(chan pahov3.Message, 1)
		c, err := dial3(e, a, "thing-a", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Disconnect(0)
		topic := "$aws/things/thing-a/shadow/custom"
		if tok := c.Subscribe(topic, 1, func(_ pahov3.Client, m pahov3.Message) { got <- m }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
		if tok := c.Publish(topic, 1, false, "hi"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
		select {
		case m := <-got:
			if string(m.Payload()) != "hi" {
				t.Fatalf("payload %q", m.Payload())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no message")
		}
	})
}

func TestDisconnectOnDeniedPublishSetting(t *testing.T) {
	e := startEmulator(t, func(c *Config) { c.DisconnectOnDeniedPublish = true })
	a := provision(t, e, "thing-a", "thing", perThingPolicy)
	c := dial5(t, e, a, "thing-a")
	if got := c.publish(t, "$aws/things/thing-b/shadow/update", []byte("{}"), false); got != 0x87 {
		t.Fatalf("PUBACK %s, want 0x87", mqttc.ReasonString(got))
	}
	c.expectClosed(t)
}

// TestLastWillNeedsPublishPermission checks that a will the client may not
// publish fails the connect (CONNACK 0x87, as AWS refuses it with
// connect_failed AUTHORIZATION_FAILED) and so is never published, while an
// allowed will is published when the connection is lost.
func TestLastWillNeedsPublishPermission(t *testing.T) {
	e := startEmulator(t, nil)
	a := provision(t, e, "thing-a", "thing", perThingPolicy)
	obs := provision(t, e, "observer-00", "observer", observerPolicy)
	o := dial5(t, e, obs, "observer-00")
	o.subscribe(t, "$aws/things/+/shadow/will")

	opts := dialOptions(e, a, "thing-a")
	opts.Will = &paho.WillMessage{Topic: "$aws/things/thing-b/shadow/will", QoS: 1, Payload: []byte("gone")}
	_, err := mqttc.Dial(context.Background(), opts)
	var ce *mqttc.ConnackError
	if !errors.As(err, &ce) || ce.ReasonCode != 0x87 {
		t.Fatalf("connect with a denied will: %v, want CONNACK 0x87", err)
	}

	opts.Will = &paho.WillMessage{Topic: "$aws/things/thing-a/shadow/will", QoS: 1, Payload: []byte("gone")}
	c, err := mqttc.Dial(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	c.TerminateConnectionForTest()
	o.expectMessage(t, "$aws/things/thing-a/shadow/will")
	o.expectNoMessage(t, "$aws/things/thing-b/shadow/will")
}

// TestSubscribeDecisionDoesNotAnswerDeliveries checks that while a
// SUBSCRIBE is being decided, deliveries of a topic spelled like its filter
// (published concurrently by another client) still need iot:Receive.
func TestSubscribeDecisionDoesNotAnswerDeliveries(t *testing.T) {
	e := startEmulator(t, nil)
	eve := provision(t, e, "thing-eve", "recv-own", receiveOwnOnlyPolicy)
	a := provision(t, e, "thing-a", "open", openPolicy)
	ce := dial5(t, e, eve, "thing-eve")
	ca := dial5(t, e, a, "thing-a")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = ca.Publish(context.Background(), &paho.Publish{Topic: "open/x", QoS: 0, Payload: []byte("secret")})
		}
	}()
	for i := range 20 {
		if got := ce.subscribe(t, "open/x"); got[0] != 0x01 {
			t.Fatalf("SUBSCRIBE %d: SUBACK %x", i, got)
		}
		if _, err := ce.Unsubscribe(context.Background(), &paho.Unsubscribe{Topics: []string{"open/x"}}); err != nil {
			t.Fatal(err)
		}
	}
	ce.subscribe(t, "open/x")
	close(stop)
	<-done
	ca.publish(t, "$aws/things/thing-eve/shadow/custom", []byte("mine"), false)
	ce.subscribe(t, "$aws/things/thing-eve/shadow/custom")
	ca.publish(t, "$aws/things/thing-eve/shadow/custom", []byte("mine"), false)
	ce.expectMessage(t, "$aws/things/thing-eve/shadow/custom")
	ce.expectNoMessage(t, "open/x")
}
