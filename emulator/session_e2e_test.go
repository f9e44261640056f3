package emulator

import (
	"context"
	"crypto/tls"
	"fmt"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/shadowload/shadowload/internal/mqttc"
)

// publishWhileOffline publishes, from another client, three QoS 1 messages
// and one QoS 0 message under prefix.
func publishWhileOffline(t *testing.T, pub *client5, prefix string) {
	t.Helper()
	for i := 1; i <= 3; i++ {
		if code := pub.publish(t, fmt.Sprintf("%s/%d", prefix, i), []byte(fmt.Sprint(i)), false); code != 0 {
			t.Fatalf("PUBACK %s", mqttc.ReasonString(code))
		}
	}
	if _, err := pub.Publish(context.Background(), &paho.Publish{Topic: prefix + "/q0", QoS: 0, Payload: []byte("0")}); err != nil {
		t.Fatal(err)
	}
	// A QoS 1 round trip after the QoS 0 publish: it has been routed.
	pub.publish(t, "marker/x", nil, false)
}

// dial3Session connects an MQTT 3.1.1 client with the given clean-session
// flag, collecting what it receives in msgs.
func dial3Session(t *testing.T, e *Emulator, id identity, clientID string, clean bool, msgs chan<- pahov3.Message) (pahov3.Client, bool) {
	t.Helper()
	opts := pahov3.NewClientOptions().AddBroker("ssl://" + e.Addr()).SetClientID(clientID).SetProtocolVersion(4).
		SetCleanSession(clean).SetAutoReconnect(false).SetConnectTimeout(10 * time.Second).
		SetTLSConfig(&tls.Config{Certificates: []tls.Certificate{id.cert}, RootCAs: e.CA().Pool(), ServerName: "localhost"}).
		SetDefaultPublishHandler(func(_ pahov3.Client, m pahov3.Message) { msgs <- m })
	c := pahov3.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	return c, tok.(*pahov3.ConnectToken).SessionPresent()
}

func TestPersistentSessionDeliversQoS1StoredWhileOffline(t *testing.T) {
	e := startEmulator(t, nil)
	a := provision(t, e, "thing-a", "open", openPolicy)
	pub := dial5(t, e, provision(t, e, "thing-p", "open", openPolicy), "publisher")

	t.Run("paho.golang MQTT 5", func(t *testing.T) {
		opts := dialOptions(e, a, "sess-v5")
		opts.CleanStart, opts.SessionExpiry = false, time.Hour
		c, err := tryDial5WithOptions(e, opts)
		if err != nil {
			t.Fatal(err)
		}
		if c.Connack.SessionPresent {
			t.Fatal("new session reported present")
		}
		c.subscribe(t, "off5/#")
		_ = c.Close()
		publishWhileOffline(t, pub, "off5")
		// A message that expires while the session is offline is not sent.
		resp, err := pub.Publish(context.Background(), &paho.Publish{Topic: "off5/expiring", QoS: 1, Payload: []byte("x"),
			Properties: &paho.PublishProperties{MessageExpiry: ptr(uint32(1))}})
		if err != nil || resp.ReasonCode != 0 {
			t.Fatalf("PUBACK %v %v", resp, err)
		}
		time.Sleep(1100 * time.Millisecond) // let the 1 s expiry pass
		start := time.Now()
		c2, err := tryDial5WithOptions(e, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		if !c2.Connack.SessionPresent {
			t.Fatal("session not resumed")
		}
		for i := 1; i <= 3; i++ {
			if p := c2.expectMessage(t, fmt.Sprintf("off5/%d", i)); string(p.Payload) != fmt.Sprint(i) || p.QoS != 1 {
				t.Fatalf("stored message %d: %q QoS %d", i, p.Payload, p.QoS)
			}
		}
		// AWS replays at most 10 stored messages a second.
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Fatalf("three stored messages replayed in %v, faster than 10/s", d)
		}
		pub.publish(t, "off5/live", []byte("live"), false)
		c2.expectMessage(t, "off5/live")
		c2.expectNoMessage(t, "off5/q0")
		c2.expectNoMessage(t, "off5/expiring")
	})

	t.Run("paho.mqtt.golang MQTT 3.1.1", func(t *testing.T) {
		msgs := make(chan pahov3.Message, 10)
		c, present := dial3Session(t, e, a, "sess-v3", false, msgs)
		if present {
			t.Fatal("new session reported present")
		}
		if tok := c.Subscribe("off3/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		c.Disconnect(100)
		publishWhileOffline(t, pub, "off3")
		c2, present := dial3Session(t, e, a, "sess-v3", false, msgs)
		defer c2.Disconnect(0)
		if !present {
			t.Fatal("session not resumed")
		}
		for i := 1; i <= 3; i++ {
			select {
			case m := <-msgs:
				if m.Topic() != fmt.Sprintf("off3/%d", i) || m.Qos() != 1 {
					t.Fatalf("stored message %d: %s QoS %d", i, m.Topic(), m.Qos())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("stored message %d not delivered", i)
			}
		}
		// An MQTT 5 connect does not resume the 3.1.1 session.
		c2.Disconnect(100)
		opts := dialOptions(e, a, "sess-v3")
		opts.CleanStart, opts.SessionExpiry = false, time.Hour
		c3, err := tryDial5WithOptions(e, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer c3.Close()
		if c3.Connack.SessionPresent {
			t.Fatal("an MQTT 5 connect resumed a 3.1.1 session")
		}
	})

	for _, version := range []int{5, 4} {
		t.Run(fmt.Sprintf("mqtt.js protocol %d", version), func(t *testing.T) {
			id := fmt.Sprintf("sess-js%d", version)
			prefix := fmt.Sprintf("offjs%d", version)
			options := map[string]any{"protocolVersion": version, "clientId": id, "clean": false}
			if version == 5 {
				options["properties"] = map[string]any{"sessionExpiryInterval": 3600}
			}
			j := startMQTTJS(t, e, a, options,
				map[string]any{"op": "subscribe", "filters": map[string]any{prefix + "/#": map[string]any{"qos": 1}}},
				map[string]any{"op": "end"})
			if ack := j.next(t, "connack"); ack.SessionPresent {
				t.Fatal("new session reported present")
			}
			if g := j.next(t, "suback").Granted; len(g) != 1 || g[0] != 1 {
				t.Fatalf("granted %v", g)
			}
			j.finish(t)
			waitConnected(t, e, 1)
			publishWhileOffline(t, pub, prefix)
			j = startMQTTJS(t, e, a, options, map[string]any{"op": "wait", "messages": 3}, map[string]any{"op": "end"})
			if ack := j.next(t, "connack"); !ack.SessionPresent {
				t.Fatal("session not resumed")
			}
			got := messages(j.finish(t))
			if len(got) != 3 {
				t.Fatalf("got %d stored messages, want 3: %+v", len(got), got)
			}
			for i, m := range got {
				if m.Topic != fmt.Sprintf("%s/%d", prefix, i+1) || m.QoS != 1 {
					t.Fatalf("stored message %d: %+v", i+1, m)
				}
			}
		})
	}
}

func TestSessionExpiryCappedAndEchoedInConnack(t *testing.T) {
	e := startEmulator(t, nil)
	a := provision(t, e, "thing-a", "open", openPolicy)
	opts := dialOptions(e, a, "sess-cap")
	opts.CleanStart, opts.SessionExpiry = false, 7*24*time.Hour
	c, err := tryDial5WithOptions(e, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := c.Connack.Properties
	if p.SessionExpiryInterval == nil || *p.SessionExpiryInterval != 3600 {
		t.Fatalf("CONNACK Session Expiry Interval %v, want 3600 (the account maximum)", p.SessionExpiryInterval)
	}
	j := startMQTTJS(t, e, a, map[string]any{"protocolVersion": 5, "clientId": "sess-cap-js", "clean": false,
		"properties": map[string]any{"sessionExpiryInterval": 100000}}, map[string]any{"op": "end"})
	if sei := j.next(t, "connack").props(t).SessionExpiryInterval; sei == nil || *sei != 3600 {
		t.Fatalf("mqtt.js: CONNACK Session Expiry Interval %v, want 3600", sei)
	}
	j.finish(t)
}

func ptr[T any](v T) *T { return &v }
