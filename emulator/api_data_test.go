package emulator

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/shadowload/shadowload/internal/awsdata"
)

// versionOf reads the version of a shadow document.
func versionOf(t testing.TB, doc []byte) int64 {
	t.Helper()
	var d struct {
		Version int64 `json:"version"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("document %s: %v", doc, err)
	}
	return d.Version
}

// TestAPIRESTAndMQTTShadowOperationsInterleave runs MQTT and REST updates
// on one shadow in turn: versions follow each other whichever path made
// them, an MQTT observer sees the REST update's accepted, documents and
// delta, and a REST error comes back over HTTP only, never on
// update/rejected.
func TestAPIRESTAndMQTTShadowOperationsInterleave(t *testing.T) {
	e := startAPIEmulator(t, nil)
	dev := provision(t, e, "lamp", "thing", perThingPolicy)
	obs := provision(t, e, "observer-00", "observer", observerPolicy)
	device := dial5(t, e, dev, "lamp")
	observer := dial5(t, e, obs, "observer-00")
	prefix := "$aws/things/lamp/shadow/update/"
	observer.subscribe(t, prefix+"accepted", prefix+"documents", prefix+"delta", prefix+"rejected")
	device.subscribe(t, prefix+"accepted")
	rest := dataClient(t, e)

	// 1: MQTT.
	device.publish(t, "$aws/things/lamp/shadow/update", []byte(`{"state":{"reported":{"color":"red"}}}`), false)
	if v := versionOf(t, device.expectMessage(t, prefix+"accepted").Payload); v != 1 {
		t.Fatalf("MQTT update: version %d, want 1", v)
	}
	observer.expectMessage(t, prefix+"accepted")
	observer.expectMessage(t, prefix+"documents")

	// 2: REST, with optimistic locking on the MQTT version.
	body := must(rest.UpdateThingShadow(bg, "lamp", "", []byte(`{"state":{"desired":{"color":"blue"}},"version":1,"clientToken":"rest-1"}`)))(t)
	if v := versionOf(t, body); v != 2 {
		t.Fatalf("REST update after MQTT version 1: version %d, want 2 (%s)", v, body)
	}
	acc := observer.expectMessage(t, prefix+"accepted")
	if string(acc.Payload) != string(body) {
		t.Errorf("observer's update/accepted %s differs from the REST answer %s", acc.Payload, body)
	}
	docs := observer.expectMessage(t, prefix+"documents")
	var d struct {
		Previous struct{ Version int64 } `json:"previous"`
		Current  struct{ Version int64 } `json:"current"`
	}
	if err := json.Unmarshal(docs.Payload, &d); err != nil || d.Previous.Version != 1 || d.Current.Version != 2 {
		t.Errorf("observer's update/documents after the REST update: %s", docs.Payload)
	}
	delta := observer.expectMessage(t, prefix+"delta")
	if versionOf(t, delta.Payload) != 2 || !strings.Contains(string(delta.Payload), `"color":"blue"`) || !strings.Contains(string(delta.Payload), `"clientToken":"rest-1"`) {
		t.Errorf("observer's update/delta after the REST update: %s", delta.Payload)
	}
	if v := versionOf(t, device.expectMessage(t, prefix+"accepted").Payload); v != 2 {
		t.Errorf("device's update/accepted of the REST update: version %d, want 2", v)
	}

	// A REST version conflict answers 409 over HTTP and publishes nothing.
	_, err := rest.UpdateThingShadow(bg, "lamp", "", []byte(`{"state":{"reported":{"color":"x"}},"version":1}`))
	wantAPIError(t, "REST update with a stale version", err, "ConflictException", 409)

	// 3: MQTT again, locked on the REST version.
	device.publish(t, "$aws/things/lamp/shadow/update", []byte(`{"state":{"reported":{"color":"blue"}},"version":2}`), false)
	if v := versionOf(t, device.expectMessage(t, prefix+"accepted").Payload); v != 3 {
		t.Fatalf("MQTT update after REST version 2: version %d, want 3", v)
	}
	// The observer gets version 3's reply; had the conflict been
	// published, it would have arrived before it.
	for {
		m := observer.expectMessage(t, prefix+"accepted")
		if versionOf(t, m.Payload) == 3 {
			break
		}
	}
	observer.expectNoMessage(t, prefix+"rejected")

	got := must(rest.GetThingShadow(bg, "lamp", ""))(t)
	if versionOf(t, got) != 3 || strings.Contains(string(got), `"delta"`) {
		t.Errorf("REST get after three updates: %s, want version 3 and no delta", got)
	}
	del := must(rest.DeleteThingShadow(bg, "lamp", ""))(t)
	if versionOf(t, del) != 3 {
		t.Errorf("REST delete: %s, want the last version 3", del)
	}
	_, err = rest.GetThingShadow(bg, "lamp", "")
	wantAPIError(t, "REST get of the deleted shadow", err, "ResourceNotFoundException", 404)
	var ae *awsdata.APIError
	if apiErrorCode(err) == "ResourceNotFoundException" && (!errors.As(err, &ae) || ae.Message != "No shadow exists with name: 'lamp'") {
		t.Errorf("404 message %v, want AWS's", err)
	}
}

func TestAPINamedShadowsAndTheirListing(t *testing.T) {
	e := startAPIEmulator(t, nil)
	rest := dataClient(t, e)
	for _, name := range []string{"cfg", "fw", "net", "a$b"} {
		must(rest.UpdateThingShadow(bg, "pump", name, []byte(`{"state":{"reported":{"on":true}}}`)))(t)
	}
	must(rest.UpdateThingShadow(bg, "pump", "", []byte(`{"state":{"reported":{"on":true}}}`)))(t)
	first := must(rest.ListNamedShadowsForThing(bg, "pump", "", 3))(t)
	if strings.Join(first.Results, ",") != "a$b,cfg,fw" || first.NextToken == "" || first.Timestamp == 0 {
		t.Fatalf("first page: %+v", first)
	}
	second := must(rest.ListNamedShadowsForThing(bg, "pump", first.NextToken, 3))(t)
	if strings.Join(second.Results, ",") != "net" || second.NextToken != "" {
		t.Fatalf("second page: %+v", second)
	}
	must(rest.DeleteThingShadow(bg, "pump", "fw"))(t)
	all := must(rest.AllNamedShadows(bg, "pump"))(t)
	if strings.Join(all, ",") != "a$b,cfg,net" {
		t.Errorf("after deleting fw: %v", all)
	}
	if v := versionOf(t, must(rest.GetThingShadow(bg, "pump", "cfg"))(t)); v != 1 {
		t.Errorf("named shadow cfg: version %d, want 1", v)
	}
	_, err := rest.GetThingShadow(bg, "pump", "fw")
	wantAPIError(t, "get of a deleted named shadow", err, "ResourceNotFoundException", 404)
	_, err = rest.GetThingShadow(bg, "pump", "bad/name")
	wantAPIError(t, "get with an invalid shadow name", err, "InvalidRequestException", 400)
	_, err = rest.UpdateThingShadow(bg, "pump", "", []byte(`{"state":`))
	wantAPIError(t, "update that is not JSON", err, "InvalidRequestException", 400)
}

func TestAPIPublishReachesMQTTSubscribersAndTheShadowService(t *testing.T) {
	e := startAPIEmulator(t, nil)
	obs := provision(t, e, "observer-00", "observer", openPolicy)
	sub := dial5(t, e, obs, "observer-00")
	sub.subscribe(t, "fleet/+/telemetry", "$aws/things/valve/shadow/update/accepted")
	rest := dataClient(t, e)
	if err := rest.Publish(bg, awsdata.PublishInput{Topic: "fleet/valve/telemetry", Payload: []byte(`{"t":21}`), QoS: 1,
		UserProperties: []map[string]string{{"k": "v"}}}); err != nil {
		t.Fatal(err)
	}
	if m := sub.expectMessage(t, "fleet/valve/telemetry"); string(m.Payload) != `{"t":21}` {
		t.Errorf("subscriber got %q", m.Payload)
	}
	if err := rest.Publish(bg, awsdata.PublishInput{Topic: "$aws/things/valve/shadow/update", Payload: []byte(`{"state":{"reported":{"open":true}}}`)}); err != nil {
		t.Fatal(err)
	}
	if v := versionOf(t, sub.expectMessage(t, "$aws/things/valve/shadow/update/accepted").Payload); v != 1 {
		t.Errorf("shadow update published over HTTP: version %d, want 1", v)
	}
	err := rest.Publish(bg, awsdata.PublishInput{Topic: "$aws/events/presence/connected/x"})
	wantAPIError(t, "publish on a lifecycle topic", err, "ForbiddenException", 403)
	err = rest.Publish(bg, awsdata.PublishInput{Topic: "a/b", Retain: true, Payload: []byte("x")})
	wantAPIError(t, "retained publish", err, "InvalidRequestException", 400)
}
