package emulator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// mqttjsDir holds the npm packages .ci/run installs for the end-to-end
// tests: mqtt.js, an MQTT 3.1.1 and 5 client independent of the Go ones.
const mqttjsDir = "testdata/node"

// needMQTTJS finds node and mqtt.js. Under CI (where .ci/run installs
// them) their absence fails the test; elsewhere it skips.
func needMQTTJS(t *testing.T) {
	t.Helper()
	_, errNode := exec.LookPath("node")
	_, errPkg := os.Stat(filepath.Join(mqttjsDir, "node_modules", "mqtt", "package.json"))
	if errNode == nil && errPkg == nil {
		return
	}
	msg := "node and mqtt.js not installed (npm ci --prefix emulator/testdata/node, as .ci/run does)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// jsEvent is one line printed by testdata/mqttjs/client.js.
type jsEvent struct {
	Event          string          `json:"event"`
	SessionPresent bool            `json:"sessionPresent"`
	ReasonCode     int             `json:"reasonCode"`
	Properties     json.RawMessage `json:"properties"`
	Topic          string          `json:"topic"`
	Payload        string          `json:"payload"`
	QoS            int             `json:"qos"`
	Retain         bool            `json:"retain"`
	Granted        []int           `json:"granted"`
	Error          string          `json:"error"`
	Message        string          `json:"message"`
}

// jsProps are the MQTT 5 properties mqtt.js reports, as the script prints
// them (correlation data in base64).
type jsProps struct {
	PayloadFormatIndicator *bool               `json:"payloadFormatIndicator"`
	MessageExpiryInterval  *int                `json:"messageExpiryInterval"`
	ContentType            string              `json:"contentType"`
	ResponseTopic          string              `json:"responseTopic"`
	CorrelationData        string              `json:"correlationData"`
	UserProperties         map[string]any      `json:"userProperties"`
	TopicAliasMaximum      int                 `json:"topicAliasMaximum"`
	MaximumQoS             *int                `json:"maximumQoS"`
	ReceiveMaximum         int                 `json:"receiveMaximum"`
	SessionExpiryInterval  *int                `json:"sessionExpiryInterval"`
	ServerKeepAlive        *int                `json:"serverKeepAlive"`
	SubIdentifiersAvail    *bool               `json:"subscriptionIdentifiersAvailable"`
	AssignedClientID       string              `json:"assignedClientIdentifier"`
	Extra                  map[string]struct{} `json:"-"`
}

func (ev jsEvent) props(t *testing.T) jsProps {
	t.Helper()
	var p jsProps
	if len(ev.Properties) > 0 {
		if err := json.Unmarshal(ev.Properties, &p); err != nil {
			t.Fatalf("properties %s: %v", ev.Properties, err)
		}
	}
	return p
}

// mqttjs is a running mqtt.js client script.
type mqttjs struct {
	cmd    *exec.Cmd
	events chan jsEvent
	done   chan struct{}
	all    []jsEvent
}

// startMQTTJS runs the mqtt.js client script for id with options (passed
// to mqtt.connect) and steps.
func startMQTTJS(t *testing.T, e *Emulator, id identity, options map[string]any, steps ...map[string]any) *mqttjs {
	t.Helper()
	needMQTTJS(t)
	certFile, keyFile := writeIdentityFiles(t, id)
	spec, err := json.Marshal(map[string]any{
		"url": "mqtts://" + e.Addr(), "ca": e.RootCAPath(), "cert": certFile, "key": keyFile,
		"options": options, "steps": steps, "timeoutMs": 20000,
	})
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(mqttjsDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := exec.CommandContext(ctx, "node", "testdata/mqttjs/client.js", string(spec))
	cmd.Env = append(os.Environ(), "MQTTJS_DIR="+abs)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	j := &mqttjs{cmd: cmd, events: make(chan jsEvent, 1000), done: make(chan struct{})}
	go func() {
		defer close(j.done)
		defer close(j.events)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var ev jsEvent
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				j.events <- ev
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		cancel()
		<-j.done
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("mqtt.js stderr: %s", stderr.String())
		}
	})
	return j
}

// next waits for the next event of kind (skipping others, which are kept).
func (j *mqttjs) next(t *testing.T, kind string) jsEvent {
	t.Helper()
	for i, ev := range j.all {
		if ev.Event == kind {
			j.all = append(j.all[:i], j.all[i+1:]...)
			return ev
		}
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-j.events:
			if !ok {
				t.Fatalf("mqtt.js ended without a %q event; got %+v", kind, j.all)
			}
			if ev.Event == kind {
				return ev
			}
			j.all = append(j.all, ev)
		case <-timeout:
			t.Fatalf("no %q event from mqtt.js; got %+v", kind, j.all)
		}
	}
}

// finish waits for the script to end and returns every event not yet taken.
func (j *mqttjs) finish(t *testing.T) []jsEvent {
	t.Helper()
	select {
	case <-j.done:
	case <-time.After(30 * time.Second):
		t.Fatal("mqtt.js did not finish")
	}
	for ev := range j.events {
		j.all = append(j.all, ev)
	}
	out := j.all
	j.all = nil
	return out
}

// messages returns the message events among evs.
func messages(evs []jsEvent) []jsEvent {
	var out []jsEvent
	for _, ev := range evs {
		if ev.Event == "message" {
			out = append(out, ev)
		}
	}
	return out
}
