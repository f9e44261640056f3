package console

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/mqttc"
	"github.com/shadowload/shadowload/shadow"
)

// watchFilters are what the console listens to: lifecycle connected and
// disconnected events, and every shadow's documents and deletes.
var watchFilters = []string{
	"$aws/events/presence/connected/+",
	"$aws/events/presence/disconnected/+",
	"$aws/things/+/shadow/update/documents",
	"$aws/things/+/shadow/name/+/update/documents",
	"$aws/things/+/shadow/delete/accepted",
	"$aws/things/+/shadow/name/+/delete/accepted",
}

// maxPresence bounds the client IDs whose connection state is kept; past
// it, the disconnected ones are forgotten.
const maxPresence = 200_000

// Redial pacing of the watcher's connection.
const (
	redialMin = 100 * time.Millisecond
	redialMax = 5 * time.Second
)

// presenceState is a client ID's connection state as its last lifecycle
// event told it.
type presenceState struct {
	ClientID  string
	Connected bool
	Principal string
	Reason    string
	At        time.Time
	// Version is the event's versionNumber: it orders the connections of
	// a client ID, whose events may arrive out of order.
	Version int64
}

// watcher keeps the console's own connection to the broker, subscribed to
// watchFilters: it turns lifecycle events into the connection state of
// each client ID and every event into a hub event.
type watcher struct {
	em  *emulator.Emulator
	id  fleet.Bundle
	hub *hub
	log *slog.Logger

	mu       sync.RWMutex
	presence map[string]*presenceState

	ready     chan struct{} // closed once first subscribed
	readyOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
}

// startWatcher starts the watcher's connection loop.
func startWatcher(em *emulator.Emulator, id fleet.Bundle, h *hub, log *slog.Logger) *watcher {
	w := &watcher{em: em, id: id, hub: h, log: log, presence: map[string]*presenceState{},
		ready: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

// brokerEndpoint is where the console connects: the emulator's MQTT
// address, an unspecified host made loopback.
func brokerEndpoint(em *emulator.Emulator) string {
	host, port, err := net.SplitHostPort(em.Addr())
	if err != nil {
		return em.Addr()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// randomSuffix is 8 hex digits for client IDs.
func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (w *watcher) loop() {
	defer close(w.done)
	clientID := "shadowload-console-" + randomSuffix()
	wait := redialMin
	for {
		lost := make(chan struct{})
		var lostOnce sync.Once
		gone := func() { lostOnce.Do(func() { close(lost) }) }
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := mqttc.Dial(ctx, mqttc.Options{
			Endpoint: brokerEndpoint(w.em), Certificate: w.id.Certificate, Roots: w.em.CA().Pool(),
			ClientID: clientID, CleanStart: true, OnPublish: w.onPublish,
			OnServerDisconnect: func(*paho.Disconnect) { gone() },
			OnClientError:      func(error) { gone() },
		})
		if err == nil {
			err = c.SubscribeAll(ctx, 0, watchFilters...)
			if err != nil {
				_ = c.Close()
			}
		}
		cancel()
		if err == nil {
			wait = redialMin
			w.readyOnce.Do(func() { close(w.ready) })
			select {
			case <-w.stop:
				_ = c.Close()
				return
			case <-lost:
				w.log.Warn("console lost its broker connection; reconnecting")
			}
		} else {
			w.log.Warn("console cannot watch the broker", "error", err)
		}
		select {
		case <-w.stop:
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, redialMax)
	}
}

// waitReady waits until the watcher has subscribed once, or d passed.
func (w *watcher) waitReady(d time.Duration) bool {
	select {
	case <-w.ready:
		return true
	case <-time.After(d):
		return false
	}
}

func (w *watcher) close() {
	close(w.stop)
	<-w.done
}

// lifecycle is the part of a lifecycle event the console reads.
type lifecycle struct {
	ClientID            string `json:"clientId"`
	Timestamp           int64  `json:"timestamp"`
	EventType           string `json:"eventType"`
	PrincipalIdentifier string `json:"principalIdentifier"`
	DisconnectReason    string `json:"disconnectReason"`
	VersionNumber       int64  `json:"versionNumber"`
}

// onPublish turns one message into state and a hub event.
func (w *watcher) onPublish(p *paho.Publish) {
	if rest, ok := strings.CutPrefix(p.Topic, "$aws/events/presence/"); ok {
		var ev lifecycle
		if json.Unmarshal(p.Payload, &ev) != nil || ev.ClientID == "" {
			return
		}
		connected := strings.HasPrefix(rest, "connected/")
		st := &presenceState{ClientID: ev.ClientID, Connected: connected, Principal: ev.PrincipalIdentifier,
			Reason: ev.DisconnectReason, At: time.UnixMilli(ev.Timestamp), Version: ev.VersionNumber}
		if !w.setPresence(st) {
			return
		}
		state := "disconnected"
		if connected {
			state = "connected"
		}
		w.hub.publish(event{Kind: "presence", Thing: ev.ClientID, ClientID: ev.ClientID, Principal: ev.PrincipalIdentifier,
			State: state, Reason: ev.DisconnectReason, At: ev.Timestamp})
		return
	}
	t, err := shadow.ParseTopic(p.Topic)
	if err != nil {
		return
	}
	var doc struct {
		Version int64 `json:"version"`
		Current struct {
			Version int64 `json:"version"`
		} `json:"current"`
	}
	_ = json.Unmarshal(p.Payload, &doc)
	v := doc.Version
	if doc.Current.Version != 0 {
		v = doc.Current.Version
	}
	w.hub.publish(event{Kind: "shadow", Thing: t.Thing, Shadow: t.Shadow, Version: v})
}

// versionResetAfter is how long a client ID stays offline before AWS
// starts its lifecycle versionNumber again from 0.
const versionResetAfter = time.Hour

// setPresence records a lifecycle event unless it is stale: AWS's rule is
// that an event with a lower versionNumber than the last one seen for the
// client ID is about an older connection (the disconnect of a session
// that a newer connection already replaced, say). It reports whether the
// event was recorded.
func (w *watcher) setPresence(st *presenceState) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if old := w.presence[st.ClientID]; old != nil {
		reset := !old.Connected && st.At.Sub(old.At) >= versionResetAfter
		stale := st.Version < old.Version || st.Version == old.Version && !old.Connected && st.Connected
		if stale && !reset {
			return false
		}
	}
	if _, ok := w.presence[st.ClientID]; !ok && len(w.presence) >= maxPresence {
		for id, s := range w.presence {
			if !s.Connected {
				delete(w.presence, id)
			}
		}
	}
	w.presence[st.ClientID] = st
	return true
}

// presenceOf returns the connection state of a client ID, if an event told it.
func (w *watcher) presenceOf(clientID string) (presenceState, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	st, ok := w.presence[clientID]
	if !ok {
		return presenceState{}, false
	}
	return *st, true
}

// byPrincipal returns the client IDs last seen with a certificate, at
// most limit.
func (w *watcher) byPrincipal(certID string, limit int) []presenceState {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var out []presenceState
	for _, st := range w.presence {
		if st.Principal == certID {
			out = append(out, *st)
			if len(out) == limit {
				break
			}
		}
	}
	return out
}
