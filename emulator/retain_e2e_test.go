package emulator

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestRetainedMessagesReachExactFiltersOnly checks AWS's retained-message
// rules with three clients: the stored message goes to a new subscription
// whose filter is exactly its topic (RETAIN set), never through a wildcard;
// live RETAIN publishes reach current subscribers with RETAIN clear; an
// empty RETAIN publish deletes the stored message.
func TestRetainedMessagesReachExactFiltersOnly(t *testing.T) {
	e := startEmulator(t, nil)
	open := provision(t, e, "thing-o", "open", openPolicy)
	pub := dial5(t, e, open, "retain-pub")
	if code := pub.publish(t, "retained/r1", []byte("v1"), true); code != 0 {
		t.Fatalf("PUBACK %#x", code)
	}

	t.Run("paho.golang", func(t *testing.T) {
		exact := dial5(t, e, open, "retain-exact")
		exact.subscribe(t, "retained/r1")
		if p := exact.expectMessage(t, "retained/r1"); string(p.Payload) != "v1" || !p.Retain {
			t.Fatalf("stored message: %q retain=%v, want v1 with RETAIN", p.Payload, p.Retain)
		}
		wild := dial5(t, e, open, "retain-wild")
		wild.subscribe(t, "retained/#")
		pub.publish(t, "retained/marker", []byte("m"), false)
		wild.expectMessage(t, "retained/marker")
		wild.expectNoMessage(t, "retained/r1")
		pub.publish(t, "retained/r1", []byte("v2"), true)
		for _, c := range []*client5{exact, wild} {
			if p := c.expectMessage(t, "retained/r1"); string(p.Payload) != "v2" || p.Retain {
				t.Fatalf("live retained publish: %q retain=%v, want v2 with RETAIN clear", p.Payload, p.Retain)
			}
		}
	})

	t.Run("mqtt.js", func(t *testing.T) {
		j := startMQTTJS(t, e, open, map[string]any{"protocolVersion": 5, "clientId": "retain-js"},
			map[string]any{"op": "subscribe", "filters": map[string]any{"retained/#": map[string]any{"qos": 1}}},
			map[string]any{"op": "publish", "topic": "retained/marker2", "payload": "m", "qos": 1},
			map[string]any{"op": "subscribe", "filters": map[string]any{"retained/r1": map[string]any{"qos": 1}}},
			map[string]any{"op": "wait", "messages": 2},
			map[string]any{"op": "end"})
		got := messages(j.finish(t))
		if len(got) != 2 || got[0].Topic != "retained/marker2" || got[1].Topic != "retained/r1" || !got[1].Retain || got[1].Payload != "v2" {
			t.Fatalf("mqtt.js got %+v; want the marker through the wildcard, then the stored v2 with RETAIN on the exact filter", got)
		}
	})

	t.Run("mosquitto_sub", func(t *testing.T) {
		needMosquitto(t)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "mosquitto_sub", append(mosquittoArgs(t, e, open, "retain-mosq", "mqttv311"),
			"-t", "retained/r1", "-C", "1", "-W", "15", "-F", "%r %p")...).CombinedOutput()
		if err != nil {
			t.Fatalf("mosquitto_sub: %v: %s", err, out)
		}
		if got := strings.TrimSpace(string(out)); got != "1 v2" {
			t.Fatalf("mosquitto_sub printed %q, want the stored message with RETAIN: 1 v2", got)
		}
	})

	t.Run("empty payload deletes", func(t *testing.T) {
		pub.publish(t, "retained/r1", nil, true)
		late := dial5(t, e, open, "retain-late")
		late.subscribe(t, "retained/r1", "retained/marker3")
		pub.publish(t, "retained/marker3", []byte("m"), false)
		late.expectMessage(t, "retained/marker3")
		late.expectNoMessage(t, "retained/r1")
		if _, ok := e.srv.Retained("retained/r1"); ok {
			t.Fatal("deleted retained message still stored")
		}
	})

	t.Run("retain flag as published", func(t *testing.T) {
		c := dial5(t, e, open, "retain-rap")
		if _, err := c.Subscribe(context.Background(), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
			{Topic: "rap/#", QoS: 1, RetainAsPublished: true}}}); err != nil {
			t.Fatal(err)
		}
		pub.publish(t, "rap/x", []byte("r"), true)
		if p := c.expectMessage(t, "rap/x"); !p.Retain {
			t.Fatal("Retain As Published subscription got RETAIN clear")
		}
	})
}
