package emulator

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestDeleteConnectionDisconnectsAsAWSDoes drives DeleteConnection through
// the SigV4 data-plane client against an MQTT 5 client (paho.golang) and an
// MQTT 3.1.1 one (paho.mqtt.golang): DISCONNECT 0x98 then close, the
// lifecycle's API_INITIATED_DISCONNECT, the will unless preventWillMessage,
// the persistent session kept unless cleanSession.
func TestDeleteConnectionDisconnectsAsAWSDoes(t *testing.T) {
	e := startAPIEmulator(t, nil)
	api := dataClient(t, e)
	ctx := context.Background()
	open := provision(t, e, "watcher", "open", openPolicy)
	w := dial5(t, e, open, "watcher")
	w.subscribe(t, "$aws/events/presence/disconnected/+", "will/#")

	dialPersistent := func(t *testing.T, clientID string, clean bool) *client5 {
		t.Helper()
		opts := dialOptions(e, open, clientID)
		opts.CleanStart = clean
		opts.SessionExpiry = time.Hour
		opts.Will = &paho.WillMessage{Topic: "will/" + clientID, QoS: 1, Payload: []byte("gone")}
		c, err := tryDial5WithOptions(e, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}

	cases := []struct {
		name                     string
		cleanSession, preventWil bool
	}{
		{"defaults keep the session and publish the will", false, false},
		{"cleanSession ends the session", true, false},
		{"preventWillMessage discards the will", false, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := "kicked-" + string(rune('a'+i))
			c := dialPersistent(t, id, true)
			c.subscribe(t, "kept/"+id)
			if err := api.DeleteConnection(ctx, id, tc.cleanSession, tc.preventWil); err != nil {
				t.Fatal(err)
			}
			c.expectServerDisconnect(t, 0x98)
			ev := w.expectEvent(t, "$aws/events/presence/disconnected/"+id)
			if ev.DisconnectReason != "API_INITIATED_DISCONNECT" || ev.ClientInitiatedDisconnect == nil || *ev.ClientInitiatedDisconnect {
				t.Errorf("disconnected event %+v, want API_INITIATED_DISCONNECT, clientInitiatedDisconnect false", ev)
			}
			// The watcher's own publish orders what it receives: a will sent
			// before it has arrived by then.
			w.publish(t, "will/marker-"+id, []byte("x"), false)
			w.expectMessage(t, "will/marker-"+id)
			if tc.preventWil {
				w.expectNoMessage(t, "will/"+id)
			} else if p := w.expectMessage(t, "will/"+id); string(p.Payload) != "gone" {
				t.Errorf("will payload %q", p.Payload)
			}
			again := dialPersistent(t, id, false)
			if present := again.Connack.SessionPresent; present == tc.cleanSession {
				t.Errorf("reconnect: session present %v after cleanSession=%v", present, tc.cleanSession)
			}
		})
	}

	t.Run("MQTT 3.1.1 client", func(t *testing.T) {
		lost := make(chan error, 1)
		c, err := dial3(e, open, "kicked-311", lost, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Disconnect(0)
		if err := api.DeleteConnection(ctx, "kicked-311", false, false); err != nil {
			t.Fatal(err)
		}
		select {
		case <-lost:
		case <-time.After(10 * time.Second):
			t.Fatal("3.1.1 connection still open after DeleteConnection")
		}
		if ev := w.expectEvent(t, "$aws/events/presence/disconnected/kicked-311"); ev.DisconnectReason != "API_INITIATED_DISCONNECT" {
			t.Errorf("disconnectReason %q", ev.DisconnectReason)
		}
	})

	t.Run("errors", func(t *testing.T) {
		wantAPIError(t, "unknown client", api.DeleteConnection(ctx, "nobody", false, false), "ResourceNotFoundException", http.StatusNotFound)
		wantAPIError(t, "$ client ID", api.DeleteConnection(ctx, "$reserved", false, false), "InvalidRequestException", http.StatusBadRequest)
	})
}
