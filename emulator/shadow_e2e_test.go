package emulator

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// shadowDoc is the part of a shadow response the tests look at.
type shadowDoc struct {
	State       map[string]json.RawMessage `json:"state"`
	Version     int                        `json:"version"`
	Timestamp   int64                      `json:"timestamp"`
	ClientToken string                     `json:"clientToken"`
	Code        int                        `json:"code"`
	Message     string                     `json:"message"`
	Previous    *shadowDoc                 `json:"previous"`
	Current     *shadowDoc                 `json:"current"`
}

func decodeDoc(t *testing.T, b []byte) shadowDoc {
	t.Helper()
	var d shadowDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("response %s: %v", b, err)
	}
	return d
}

func TestShadowRequestsEndToEnd(t *testing.T) {
	e := startEmulator(t, nil)
	a := provision(t, e, "thing-a", "thing", perThingPolicy)
	c := dial5(t, e, a, "thing-a")
	p := "$aws/things/thing-a/shadow"
	c.subscribe(t, p+"/get/accepted", p+"/get/rejected", p+"/update/accepted", p+"/update/rejected",
		p+"/update/delta", p+"/update/documents", p+"/delete/accepted", p+"/delete/rejected")

	c.publish(t, p+"/get", []byte(`{"clientToken":"g1"}`), false)
	if d := decodeDoc(t, c.expectMessage(t, p+"/get/rejected").Payload); d.Code != 404 ||
		d.Message != "No shadow exists with name: 'thing-a'" || d.ClientToken != "g1" {
		t.Fatalf("get before create: %+v", d)
	}

	c.publish(t, p+"/update", []byte(`{"state":{"desired":{"color":"red"},"reported":{"color":"blue"}},"clientToken":"u1"}`), false)
	acc := decodeDoc(t, c.expectMessage(t, p+"/update/accepted").Payload)
	if acc.Version != 1 || acc.ClientToken != "u1" || acc.State["desired"] == nil {
		t.Fatalf("update/accepted: %+v", acc)
	}
	delta := decodeDoc(t, c.expectMessage(t, p+"/update/delta").Payload)
	if string(delta.State["color"]) != `"red"` || delta.Version != 1 {
		t.Fatalf("update/delta: %+v", delta)
	}
	docs := decodeDoc(t, c.expectMessage(t, p+"/update/documents").Payload)
	if docs.Previous != nil || docs.Current == nil || docs.Current.Version != 1 {
		t.Fatalf("update/documents: %+v", docs)
	}

	c.publish(t, p+"/update", []byte(`{"state":{"reported":{"color":"red"}},"version":7}`), false)
	if d := decodeDoc(t, c.expectMessage(t, p+"/update/rejected").Payload); d.Code != 409 || d.Message != "Version conflict" {
		t.Fatalf("stale version: %+v", d)
	}
	c.publish(t, p+"/update", []byte(`{"nostate":1}`), false)
	if d := decodeDoc(t, c.expectMessage(t, p+"/update/rejected").Payload); d.Code != 400 {
		t.Fatalf("missing state: %+v", d)
	}
	big := `{"state":{"reported":{"blob":"` + strings.Repeat("x", 9000) + `"}}}`
	c.publish(t, p+"/update", []byte(big), false)
	if d := decodeDoc(t, c.expectMessage(t, p+"/update/rejected").Payload); d.Code != 413 {
		t.Fatalf("oversize state: %+v", d)
	}

	c.publish(t, p+"/get", nil, false)
	got := decodeDoc(t, c.expectMessage(t, p+"/get/accepted").Payload)
	if got.Version != 1 || got.State["delta"] == nil {
		t.Fatalf("get/accepted: %+v", got)
	}

	c.publish(t, p+"/delete", []byte(`{"clientToken":"d1"}`), false)
	if d := decodeDoc(t, c.expectMessage(t, p+"/delete/accepted").Payload); d.Version != 1 || d.ClientToken != "d1" {
		t.Fatalf("delete/accepted: %+v", d)
	}
	c.publish(t, p+"/delete", nil, false)
	if d := decodeDoc(t, c.expectMessage(t, p+"/delete/rejected").Payload); d.Code != 404 {
		t.Fatalf("second delete: %+v", d)
	}
}

func TestNamedShadowsAndWildcardObserver(t *testing.T) {
	e := startEmulator(t, nil)
	a := provision(t, e, "thing-a", "thing", perThingPolicy)
	obs := provision(t, e, "observer-00", "observer", observerPolicy)
	o := dial5(t, e, obs, "observer-00")
	if got := o.subscribe(t, "$aws/things/+/shadow/update/documents", "$aws/things/+/shadow/name/+/update/documents"); got[0] != 1 || got[1] != 1 {
		t.Fatalf("observer SUBACK %x", got)
	}
	c := dial5(t, e, a, "thing-a")
	n := "$aws/things/thing-a/shadow/name/cfg"
	c.subscribe(t, n+"/update/accepted", n+"/get/rejected")
	c.publish(t, n+"/update", []byte(`{"state":{"reported":{"mode":"eco"}}}`), false)
	if d := decodeDoc(t, c.expectMessage(t, n+"/update/accepted").Payload); d.Version != 1 {
		t.Fatalf("named update/accepted: %+v", d)
	}
	if d := decodeDoc(t, o.expectMessage(t, n+"/update/documents").Payload); d.Current == nil || d.Current.Version != 1 {
		t.Fatalf("observer documents: %+v", d)
	}
	c.publish(t, "$aws/things/thing-a/shadow/update", []byte(`{"state":{"reported":{"on":true}}}`), false)
	o.expectMessage(t, "$aws/things/thing-a/shadow/update/documents")
	c.subscribe(t, "$aws/things/thing-a/shadow/name/other/get/rejected")
	c.publish(t, "$aws/things/thing-a/shadow/name/other/get", nil, false)
	if d := decodeDoc(t, c.expectMessage(t, "$aws/things/thing-a/shadow/name/other/get/rejected").Payload); d.Code != 404 ||
		d.Message != "No shadow exists with name: 'other'" {
		t.Fatalf("named get 404: %+v", d)
	}
}

func TestShadowsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir, Listen: "127.0.0.1:0", Logger: quietLogger()}
	e1, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e1.Start(); err != nil {
		t.Fatal(err)
	}
	a := provision(t, e1, "thing-a", "thing", perThingPolicy)
	c1, err := tryDial5(e1, a, "thing-a")
	if err != nil {
		t.Fatal(err)
	}
	p := "$aws/things/thing-a/shadow"
	c1.subscribe(t, p+"/update/accepted")
	c1.publish(t, p+"/update", []byte(`{"state":{"reported":{"n":1}}}`), false)
	c1.expectMessage(t, p+"/update/accepted")
	_ = c1.Close()
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}
	e2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Start(); err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	c2 := dial5(t, e2, a, "thing-a")
	c2.subscribe(t, p+"/get/accepted")
	c2.publish(t, p+"/get", nil, false)
	if d := decodeDoc(t, c2.expectMessage(t, p+"/get/accepted").Payload); d.Version != 1 {
		t.Fatalf("get after restart: %+v", d)
	}
}

func TestShadowUpdateOverMQTT311(t *testing.T) {
	e := startEmulator(t, nil)
	a := provision(t, e, "thing-a", "thing", perThingPolicy)
	got := make(chan []byte, 4)
	c, err := dial3(e, a, "thing-a", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(0)
	p := "$aws/things/thing-a/shadow/update"
	if tok := c.Subscribe(p+"/accepted", 1, func(_ pahov3.Client, m pahov3.Message) { got <- m.Payload() }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if tok := c.Publish(p, 1, false, `{"state":{"reported":{"v":3}},"clientToken":"v3"}`); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case b := <-got:
		if d := decodeDoc(t, b); d.Version != 1 || d.ClientToken != "v3" {
			t.Fatalf("update/accepted: %+v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no update/accepted")
	}
}
