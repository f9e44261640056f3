package emulator

import (
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/shadowload/shadowload/internal/mqttc"
)

// lifecycleEventDoc is a lifecycle event as a subscriber decodes it; the
// pointers tell present fields from absent ones.
type lifecycleEventDoc struct {
	ClientID                  string   `json:"clientId"`
	Timestamp                 int64    `json:"timestamp"`
	EventType                 string   `json:"eventType"`
	SessionIdentifier         string   `json:"sessionIdentifier"`
	PrincipalIdentifier       string   `json:"principalIdentifier"`
	IPAddress                 *string  `json:"ipAddress"`
	VersionNumber             *int64   `json:"versionNumber"`
	ClientInitiatedDisconnect *bool    `json:"clientInitiatedDisconnect"`
	DisconnectReason          string   `json:"disconnectReason"`
	ConnectFailureReason      string   `json:"connectFailureReason"`
	Topics                    []string `json:"topics"`
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func (c *client5) expectEvent(t *testing.T, topic string) lifecycleEventDoc {
	t.Helper()
	var ev lifecycleEventDoc
	p := c.expectMessage(t, topic)
	if err := json.Unmarshal(p.Payload, &ev); err != nil {
		t.Fatalf("%s: %s: %v", topic, p.Payload, err)
	}
	if ev.Timestamp < time.Now().Add(-time.Minute).UnixMilli() || ev.Timestamp > time.Now().Add(time.Minute).UnixMilli() {
		t.Fatalf("%s: timestamp %d is not now in ms", topic, ev.Timestamp)
	}
	if !uuidPattern.MatchString(ev.SessionIdentifier) {
		t.Fatalf("%s: sessionIdentifier %q is not a UUID", topic, ev.SessionIdentifier)
	}
	return ev
}

func TestLifecycleEvents(t *testing.T) {
	e := startEmulator(t, nil)
	open := provision(t, e, "watcher", "open", openPolicy)
	a := provision(t, e, "thing-a", "thing", perThingPolicy)
	w := dial5(t, e, open, "watcher")
	w.subscribe(t, "$aws/events/presence/+/+", "$aws/events/subscriptions/+/+")
	const p = "$aws/events/presence/"

	c := dial5(t, e, a, "thing-a")
	conn := w.expectEvent(t, p+"connected/thing-a")
	if conn.ClientID != "thing-a" || conn.EventType != "connected" || conn.PrincipalIdentifier != a.certID ||
		conn.IPAddress == nil || *conn.IPAddress != "127.0.0.1" || conn.VersionNumber == nil || conn.ClientInitiatedDisconnect != nil {
		t.Fatalf("connected event %+v", conn)
	}
	c.subscribe(t, "$aws/things/thing-a/shadow/get/accepted", "$aws/things/thing-a/shadow/get/rejected")
	sub := w.expectEvent(t, "$aws/events/subscriptions/subscribed/thing-a")
	if sub.EventType != "subscribed" || !slices.Equal(sub.Topics, []string{"$aws/things/thing-a/shadow/get/accepted", "$aws/things/thing-a/shadow/get/rejected"}) ||
		sub.VersionNumber != nil || sub.SessionIdentifier != conn.SessionIdentifier {
		t.Fatalf("subscribed event %+v", sub)
	}
	if _, err := c.Unsubscribe(context.Background(), &paho.Unsubscribe{Topics: []string{"$aws/things/thing-a/shadow/get/rejected"}}); err != nil {
		t.Fatal(err)
	}
	if u := w.expectEvent(t, "$aws/events/subscriptions/unsubscribed/thing-a"); !slices.Equal(u.Topics, []string{"$aws/things/thing-a/shadow/get/rejected"}) {
		t.Fatalf("unsubscribed event %+v", u)
	}
	_ = c.Close()
	disc := w.expectEvent(t, p+"disconnected/thing-a")
	if disc.DisconnectReason != "CLIENT_INITIATED_DISCONNECT" || disc.ClientInitiatedDisconnect == nil || !*disc.ClientInitiatedDisconnect ||
		disc.VersionNumber == nil || *disc.VersionNumber != *conn.VersionNumber || disc.IPAddress != nil {
		t.Fatalf("disconnected event %+v (connected had version %d)", disc, *conn.VersionNumber)
	}

	reasons := []struct {
		name, reason string
		end          func(t *testing.T, c *mqttc.Client)
	}{
		{"connection lost", "CONNECTION_LOST", func(_ *testing.T, c *mqttc.Client) { c.TerminateConnectionForTest() }},
		{"takeover", "DUPLICATE_CLIENTID", func(t *testing.T, _ *mqttc.Client) {
			next, err := tryDial5(e, a, "thing-a")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = next.Close()
				w.expectEvent(t, p+"disconnected/thing-a")
			})
		}},
		{"client error", "CLIENT_ERROR", func(_ *testing.T, c *mqttc.Client) {
			_, _ = c.Publish(context.Background(), &paho.Publish{Topic: "$aws/things/thing-a/shadow/big", QoS: 0, Payload: make([]byte, MaxPayload+1)})
		}},
		{"certificate revoked", "AUTH_ERROR", func(t *testing.T, _ *mqttc.Client) {
			if err := e.Registry().SetCertificateStatus(a.certID, StatusInactive); err != nil {
				t.Fatal(err)
			}
		}},
	}
	last := *disc.VersionNumber
	for _, tt := range reasons {
		t.Run(tt.name, func(t *testing.T) {
			c, err := mqttc.Dial(context.Background(), dialOptions(e, a, "thing-a"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			on := w.expectEvent(t, p+"connected/thing-a")
			if *on.VersionNumber <= last {
				t.Fatalf("versionNumber %d after %d: not increasing", *on.VersionNumber, last)
			}
			last = *on.VersionNumber
			tt.end(t, c)
			off := w.expectEvent(t, p+"disconnected/thing-a")
			if off.DisconnectReason != tt.reason || *off.ClientInitiatedDisconnect || *off.VersionNumber != *on.VersionNumber {
				t.Fatalf("disconnected event %+v, want %s with version %d", off, tt.reason, *on.VersionNumber)
			}
			if tt.reason == "DUPLICATE_CLIENTID" {
				w.expectEvent(t, p+"connected/thing-a") // the connection that took over
				last++
			}
		})
	}

	t.Run("connect_failed", func(t *testing.T) {
		if _, err := tryDial5(e, provision(t, e, "thing-b", "thing", perThingPolicy), "not-thing-b"); err == nil {
			t.Fatal("connected with a client ID the policy denies")
		}
		ev := w.expectEvent(t, p+"connect_failed/not-thing-b")
		if ev.ConnectFailureReason != "AUTHORIZATION_FAILED" || ev.IPAddress == nil || ev.EventType != "connect_failed" {
			t.Fatalf("connect_failed event %+v", ev)
		}
	})

	t.Run("receiving events needs the policy", func(t *testing.T) {
		b := dial5(t, e, provision(t, e, "thing-c", "thing", perThingPolicy), "thing-c")
		if got := b.subscribe(t, "$aws/events/presence/connected/+"); got[0] != 0x87 {
			t.Fatalf("SUBACK %x, want 0x87", got)
		}
		if code := b.publish(t, "$aws/events/presence/connected/thing-c", []byte("{}"), false); code != 0x87 {
			t.Fatalf("publishing an event: PUBACK %#x, want 0x87", code)
		}
	})

	t.Run("mosquitto_sub sees the events", func(t *testing.T) {
		needMosquitto(t)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		sub := exec.CommandContext(ctx, "mosquitto_sub", append(mosquittoArgs(t, e, open, "watch-mosq", "mqttv5"),
			"-t", "$aws/events/presence/connected/thing-d", "-C", "1", "-W", "15")...)
		out := make(chan []byte, 1)
		go func() {
			b, _ := sub.Output()
			out <- b
		}()
		// Its own subscribed event says mosquitto_sub is listening.
		w.expectEvent(t, "$aws/events/subscriptions/subscribed/watch-mosq")
		dial5(t, e, provision(t, e, "thing-d", "thing", perThingPolicy), "thing-d")
		var ev lifecycleEventDoc
		b := <-out
		if err := json.Unmarshal(b, &ev); err != nil || ev.ClientID != "thing-d" || ev.EventType != "connected" {
			t.Fatalf("mosquitto_sub printed %q (%v)", b, err)
		}
	})
}
