package shadowsvc

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shadowload/shadowload/shadow"
)

func restDoc(t *testing.T, r RESTResult) doc {
	t.Helper()
	if r.Code != 200 {
		t.Fatalf("REST result %d %q, want 200", r.Code, r.Message)
	}
	return decode(t, published{topic: "REST body", payload: string(r.Body)})
}

func TestRESTUpdatePublishesLikeMQTTAndAnswersTheAcceptedDocument(t *testing.T) {
	var clock testClock
	s, rec := newTestService(t, Config{Now: clock.Now})
	clock.set(2 * time.Second)
	res := s.Serve(shadow.OpUpdate, "lamp", "", []byte(`{"state":{"desired":{"color":"red"}},"clientToken":"r1"}`))
	body := restDoc(t, res)
	if body.int("version") != 1 || body.str("clientToken") != "r1" || body.int("timestamp") != epoch+2 {
		t.Errorf("REST body %v, want version 1, clientToken r1, timestamp %d", body, epoch+2)
	}
	docs := expect(t, rec.all(),
		shadowTopic("lamp", "", "update/accepted"),
		shadowTopic("lamp", "", "update/documents"),
		shadowTopic("lamp", "", "update/delta"))
	if string(res.Body) != rec.all()[0].payload {
		t.Errorf("REST body %s differs from update/accepted %s", res.Body, rec.all()[0].payload)
	}
	if docs[2].int("version") != 1 {
		t.Errorf("delta %v, want version 1", docs[2])
	}
}

func TestRESTRejectionsComeBackOverHTTPOnly(t *testing.T) {
	s, rec := newTestService(t, Config{})
	tests := []struct {
		name    string
		op      shadow.Op
		shadow  string
		payload string
		code    int
		message string
	}{
		{"get of a shadow never created", shadow.OpGet, "", "", 404, shadow.NotFoundMessage("lamp")},
		{"get of a named shadow never created", shadow.OpGet, "cfg", "", 404, shadow.NotFoundMessage("cfg")},
		{"delete of a shadow never created", shadow.OpDelete, "", "", 404, shadow.NotFoundMessage("lamp")},
		{"update that is not JSON", shadow.OpUpdate, "", "{", 400, shadow.MsgInvalidJSON},
		{"update without state", shadow.OpUpdate, "", `{"x":1}`, 400, shadow.MsgMissingState},
		{"update with a stale version", shadow.OpUpdate, "", `{"state":{},"version":5}`, 409, shadow.MsgVersionConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.Serve(tt.op, "lamp", tt.shadow, []byte(tt.payload))
			if res.Code != tt.code || res.Message != tt.message || res.Body != nil {
				t.Errorf("got %d %q body %q, want %d %q and no body", res.Code, res.Message, res.Body, tt.code, tt.message)
			}
		})
	}
	if msgs := rec.all(); len(msgs) != 0 {
		t.Errorf("rejections published %v on MQTT, want nothing", msgs)
	}
}

func TestRESTAndMQTTRequestsShareOneShadowsVersions(t *testing.T) {
	s, rec := newTestService(t, Config{})
	var c Conn
	handle(t, s, &c, shadowTopic("lamp", "", "update"), `{"state":{"reported":{"n":1}}}`)
	if d := restDoc(t, s.Serve(shadow.OpUpdate, "lamp", "", []byte(`{"state":{"reported":{"n":2}},"version":1}`))); d.int("version") != 2 {
		t.Fatalf("REST update after MQTT version 1: %v, want version 2", d)
	}
	handle(t, s, &c, shadowTopic("lamp", "", "update"), `{"state":{"reported":{"n":3}},"version":2}`)
	got := restDoc(t, s.Serve(shadow.OpGet, "lamp", "", nil))
	if got.int("version") != 3 {
		t.Fatalf("REST get: %v, want version 3", got)
	}
	state, _ := json.Marshal(got["state"])
	if !strings.Contains(string(state), `"n":3`) {
		t.Errorf("REST get state %s, want n 3", state)
	}
	del := restDoc(t, s.Serve(shadow.OpDelete, "lamp", "", nil))
	if del.int("version") != 3 {
		t.Errorf("REST delete %v, want the last version 3", del)
	}
	var versions []int64
	for _, m := range rec.all() {
		if strings.HasSuffix(m.topic, "/accepted") {
			versions = append(versions, decode(t, m).int("version"))
		}
	}
	if want := []int64{1, 2, 3, 3}; len(versions) != len(want) || versions[0] != 1 || versions[1] != 2 || versions[2] != 3 || versions[3] != 3 {
		t.Errorf("accepted versions on MQTT %v, want %v (the REST get publishes nothing)", versions, want)
	}
}

func TestRESTRequestsCountAgainstTheShadowsRate(t *testing.T) {
	var clock testClock
	s, _ := newTestService(t, Config{Now: clock.Now, RequestsPerSecond: 2})
	codes := []int{
		s.Serve(shadow.OpUpdate, "lamp", "", []byte(`{"state":{}}`)).Code,
		s.Serve(shadow.OpGet, "lamp", "", nil).Code,
		s.Serve(shadow.OpGet, "lamp", "", nil).Code,
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Errorf("three requests in one instant at 2/s: codes %v, want [200 200 429]", codes)
	}
}

func TestNamedShadowsListsOnlyExistingNamedShadowsOfTheThing(t *testing.T) {
	s, _ := newTestService(t, Config{})
	for _, k := range []struct{ thing, name string }{{"lamp", "b"}, {"lamp", "a"}, {"lamp", ""}, {"other", "c"}, {"lamp", "gone"}} {
		restDoc(t, s.Serve(shadow.OpUpdate, k.thing, k.name, []byte(`{"state":{"reported":{"x":1}}}`)))
	}
	restDoc(t, s.Serve(shadow.OpDelete, "lamp", "gone", nil))
	s.Serve(shadow.OpGet, "lamp", "never", nil)
	if got := strings.Join(s.NamedShadows("lamp"), ","); got != "a,b" {
		t.Errorf("NamedShadows(lamp) = %s, want a,b", got)
	}
}
