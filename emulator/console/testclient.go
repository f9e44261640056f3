package console

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/eclipse/paho.golang/paho"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/iotcore"
	"github.com/shadowload/shadowload/internal/mqttc"
	"github.com/shadowload/shadowload/shadow"
)

// Bounds of the MQTT test client.
const (
	maxSessions = 8
	// sessionBuffer bounds the messages waiting for a session's stream;
	// past it, messages are counted as dropped.
	sessionBuffer = 1024
	// attachWithin is how long a session waits for its event stream
	// before it is closed.
	attachWithin = 30 * time.Second
	// identityChoices bounds the identities the page lists.
	identityChoices = 500
	mqttTimeout     = 10 * time.Second
)

// ConsoleIdentity is the test client's name for the console's own
// identity, whose policy (PolicyName) allows everything on the broker.
const ConsoleIdentity = "console"

// testClients are the MQTT test client's sessions: each a real MQTT 5
// connection through the broker over mutual TLS, as the identity the user
// picked, so the identity's policies decide what it may do.
type testClients struct {
	em         *emulator.Emulator
	console    fleet.Bundle
	bundlesDir string
	log        *slog.Logger

	mu       sync.Mutex
	sessions map[string]*tcSession
	closed   bool
}

// tcSession is one test-client connection.
type tcSession struct {
	id       string
	identity string
	clientID string
	client   *mqttc.Client
	out      chan tcEvent
	attached chan struct{}
	once     sync.Once
	done     chan struct{}
	mu       sync.Mutex
	dropped  int64
}

// tcEvent is one event of a session's stream: a message or a status.
type tcEvent struct {
	name string
	data any
}

// tcMessage is a received message as the page shows it.
type tcMessage struct {
	Topic   string `json:"topic"`
	Time    string `json:"time"`
	Payload string `json:"payload"`
	Base64  bool   `json:"base64,omitempty"`
	QoS     byte   `json:"qos"`
	Retain  bool   `json:"retain"`
}

func newTestClients(em *emulator.Emulator, console fleet.Bundle, bundlesDir string, log *slog.Logger) *testClients {
	return &testClients{em: em, console: console, bundlesDir: bundlesDir, log: log, sessions: map[string]*tcSession{}}
}

// identities lists the identities the page offers: the console's, then
// the bundles in the bundles directory, at most identityChoices.
func (t *testClients) identities() []string {
	out := []string{ConsoleIdentity}
	entries, err := os.ReadDir(t.bundlesDir)
	if err != nil {
		return out
	}
	for _, e := range entries {
		if len(out) > identityChoices {
			break
		}
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(t.bundlesDir, e.Name(), fleet.PrivateKeyFileName)); err == nil {
				out = append(out, e.Name())
			}
		}
	}
	return out
}

// open connects a session as identity with clientID ("" for the
// identity's default: the thing name, or a fresh console client ID).
func (t *testClients) open(ctx context.Context, identity, clientID string) (*tcSession, error) {
	var cert fleet.Bundle
	if identity == ConsoleIdentity {
		cert = t.console
		if clientID == "" {
			clientID = "console-test-client-" + randomSuffix()
		}
	} else {
		if err := shadow.ValidateThingName(identity); err != nil {
			return nil, fmt.Errorf("identity: %w", err)
		}
		b, err := fleet.LoadBundle(filepath.Join(t.bundlesDir, identity))
		if err != nil {
			return nil, fmt.Errorf("identity %s: no bundle in %s", identity, t.bundlesDir)
		}
		cert = b
		if clientID == "" {
			clientID = identity
		}
	}
	if len(clientID) > iotcore.MaxClientIDBytes {
		return nil, fmt.Errorf("client ID of %d bytes: AWS IoT Core allows %d", len(clientID), iotcore.MaxClientIDBytes)
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, errors.New("the console is closing")
	}
	if len(t.sessions) >= maxSessions {
		t.mu.Unlock()
		return nil, fmt.Errorf("at most %d test-client connections at once; close one", maxSessions)
	}
	s := &tcSession{id: randomSuffix() + randomSuffix(), identity: identity, clientID: clientID,
		out: make(chan tcEvent, sessionBuffer), attached: make(chan struct{}), done: make(chan struct{})}
	t.sessions[s.id] = s
	t.mu.Unlock()

	dctx, cancel := context.WithTimeout(ctx, mqttTimeout)
	defer cancel()
	c, err := mqttc.Dial(dctx, mqttc.Options{
		Endpoint: brokerEndpoint(t.em), Certificate: cert.Certificate, Roots: t.em.CA().Pool(),
		ClientID: clientID, CleanStart: true, Timeout: mqttTimeout,
		OnPublish: func(p *paho.Publish) { s.message(p) },
		OnServerDisconnect: func(d *paho.Disconnect) {
			s.status("disconnected", "server sent DISCONNECT: "+mqttc.ReasonString(d.ReasonCode))
			t.end(s)
		},
		OnClientError: func(err error) {
			s.status("disconnected", err.Error())
			t.end(s)
		},
	})
	if err != nil {
		t.forget(s)
		return nil, err
	}
	s.client = c
	s.status("connected", "as "+identity+" with client ID "+clientID)
	go func() {
		select {
		case <-s.attached:
		case <-s.done:
		case <-time.After(attachWithin):
			t.end(s)
		}
	}()
	return s, nil
}

// get finds a session.
func (t *testClients) get(id string) (*tcSession, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.sessions[id]
	return s, ok
}

func (t *testClients) forget(s *tcSession) {
	t.mu.Lock()
	delete(t.sessions, s.id)
	t.mu.Unlock()
}

// end closes a session's connection, once.
func (t *testClients) end(s *tcSession) {
	s.once.Do(func() {
		t.forget(s)
		close(s.done)
		if s.client != nil {
			go func() { _ = s.client.Close() }()
		}
	})
}

func (t *testClients) closeAll() {
	t.mu.Lock()
	t.closed = true
	all := make([]*tcSession, 0, len(t.sessions))
	for _, s := range t.sessions {
		all = append(all, s)
	}
	t.mu.Unlock()
	for _, s := range all {
		t.end(s)
	}
}

// push queues an event for the stream, counting it dropped when full.
func (s *tcSession) push(ev tcEvent) {
	select {
	case s.out <- ev:
	default:
		s.mu.Lock()
		s.dropped++
		s.mu.Unlock()
	}
}

func (s *tcSession) message(p *paho.Publish) {
	m := tcMessage{Topic: p.Topic, Time: time.Now().UTC().Format(time.RFC3339Nano), QoS: p.QoS, Retain: p.Retain}
	if utf8.Valid(p.Payload) {
		m.Payload = string(p.Payload)
	} else {
		m.Payload, m.Base64 = base64.StdEncoding.EncodeToString(p.Payload), true
	}
	s.push(tcEvent{name: "message", data: m})
}

func (s *tcSession) status(state, detail string) {
	s.push(tcEvent{name: "status", data: map[string]string{"state": state, "detail": detail}})
}

// testClientPage is "/test-client".
func (c *Console) testClientPage(w http.ResponseWriter, r *http.Request) {
	ids := c.clients.identities()
	pick := r.URL.Query().Get("identity")
	if !slices.Contains(ids, pick) {
		pick = ConsoleIdentity
	}
	c.render(w, http.StatusOK, "testclient", "", map[string]any{
		"Title": "MQTT test client", "Identities": ids, "Identity": pick, "Endpoint": brokerEndpoint(c.em),
	})
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// openSession connects a test-client session: form fields identity and
// clientId.
func (c *Console) openSession(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	s, err := c.clients.open(r.Context(), r.PostForm.Get("identity"), r.PostForm.Get("clientId"))
	if err != nil {
		jsonError(w, http.StatusBadRequest, "connect: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": s.id, "clientId": s.clientID, "identity": s.identity})
}

func (c *Console) session(w http.ResponseWriter, r *http.Request) (*tcSession, bool) {
	s, ok := c.clients.get(r.PathValue("id"))
	if !ok {
		jsonError(w, http.StatusNotFound, "no such test-client connection; connect again")
	}
	return s, ok
}

// sessionEvents streams a session's messages and status; the session ends
// with its stream.
func (c *Console) sessionEvents(w http.ResponseWriter, r *http.Request) {
	s, ok := c.session(w, r)
	if !ok {
		return
	}
	select {
	case <-s.attached:
		jsonError(w, http.StatusConflict, "this connection has a stream already")
		return
	default:
		close(s.attached)
	}
	defer c.clients.end(s)
	stream(w, r, func(send func(name string, data []byte) error) error {
		for {
			select {
			case ev := <-s.out:
				b, _ := json.Marshal(ev.data)
				if err := send(ev.name, b); err != nil {
					return err
				}
			case <-s.done:
				// Deliver what is queued (the last status) first.
				for {
					select {
					case ev := <-s.out:
						b, _ := json.Marshal(ev.data)
						if err := send(ev.name, b); err != nil {
							return err
						}
					default:
						return nil
					}
				}
			case <-r.Context().Done():
				return nil
			}
		}
	})
}

// sessionForm finds the request's test-client session and reads its form
// and the form's qos field, answering the request itself when one fails.
func (c *Console) sessionForm(w http.ResponseWriter, r *http.Request) (*tcSession, byte, bool) {
	s, ok := c.session(w, r)
	if !ok {
		return nil, 0, false
	}
	if err := r.ParseForm(); err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return nil, 0, false
	}
	qos, err := parseQoS(r.PostForm.Get("qos"))
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return nil, 0, false
	}
	return s, qos, true
}

// sessionSubscribe subscribes: form fields filter and qos.
func (c *Console) sessionSubscribe(w http.ResponseWriter, r *http.Request) {
	s, qos, ok := c.sessionForm(w, r)
	if !ok {
		return
	}
	filter := r.PostForm.Get("filter")
	if err := iotcore.CheckFilter(filter); err != nil {
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("filter %q: %v", filter, err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), mqttTimeout)
	defer cancel()
	if err := s.client.SubscribeAll(ctx, qos, filter); err != nil {
		jsonError(w, http.StatusForbidden, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"subscribed": filter})
}

// sessionPublish publishes: form fields topic, qos, retain and payload.
func (c *Console) sessionPublish(w http.ResponseWriter, r *http.Request) {
	s, qos, ok := c.sessionForm(w, r)
	if !ok {
		return
	}
	topic := r.PostForm.Get("topic")
	if err := iotcore.CheckTopic(topic); err != nil {
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("topic %q: %v", topic, err))
		return
	}
	retain := r.PostForm.Get("retain") == "on" || r.PostForm.Get("retain") == "true"
	ctx, cancel := context.WithTimeout(r.Context(), mqttTimeout)
	defer cancel()
	resp, err := s.client.Publish(ctx, &paho.Publish{Topic: topic, QoS: qos, Retain: retain, Payload: []byte(r.PostForm.Get("payload"))})
	if err != nil {
		jsonError(w, http.StatusBadGateway, "publish: "+err.Error())
		return
	}
	if resp != nil && resp.ReasonCode >= 0x80 {
		jsonError(w, http.StatusForbidden, "publish refused: "+mqttc.ReasonString(resp.ReasonCode))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"published": topic})
}

// sessionClose disconnects a session.
func (c *Console) sessionClose(w http.ResponseWriter, r *http.Request) {
	s, ok := c.session(w, r)
	if !ok {
		return
	}
	c.clients.end(s)
	writeJSON(w, http.StatusOK, map[string]string{"closed": s.id})
}

func parseQoS(v string) (byte, error) {
	switch v {
	case "", "0":
		return 0, nil
	case "1":
		return 1, nil
	}
	return 0, fmt.Errorf("qos %s: want 0 or 1 (AWS IoT Core has no QoS 2)", strconv.Quote(v))
}
