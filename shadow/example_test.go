package shadow_test

import (
	"fmt"

	"github.com/shadowload/shadowload/shadow"
)

// ExampleShadow_Update shows how the emulator serves a shadow: parse the
// request topic, keep one Shadow per (thing, shadow name) named for the
// 404 text, call the operation with the payload and the time in epoch
// seconds, and publish each non-nil document on its reply topic. The
// documents are fresh slices, safe to hand to an asynchronous broker.
func ExampleShadow_Update() {
	shadows := map[shadow.Topic]*shadow.Shadow{}
	lim := shadow.Limits{} // AWS defaults

	serve := func(topic string, payload []byte, now int64) {
		t, err := shadow.ParseTopic(topic)
		if err != nil || t.Kind != shadow.KindRequest {
			return // not a shadow request: an ordinary publish
		}
		key := shadow.Topic{Thing: t.Thing, Shadow: t.Shadow}
		s := shadows[key]
		if s == nil {
			name := t.Thing
			if t.Shadow != "" {
				name = t.Shadow
			}
			s = &shadow.Shadow{Name: name}
			shadows[key] = s
		}
		var r shadow.Result
		switch t.Op {
		case shadow.OpUpdate:
			r = s.Update(payload, now, lim)
		case shadow.OpGet:
			r = s.Get(payload, now, lim)
		case shadow.OpDelete:
			r = s.Delete(payload, now, lim)
		}
		publish := func(k shadow.Kind, doc []byte) {
			if doc != nil {
				fmt.Printf("%s %s\n", t.Reply(k), doc)
			}
		}
		publish(shadow.KindRejected, r.Rejected)
		publish(shadow.KindAccepted, r.Accepted)
		publish(shadow.KindDocuments, r.Documents)
		publish(shadow.KindDelta, r.Delta)
	}

	serve("$aws/things/lamp/shadow/update", []byte(`{"state":{"desired":{"on":true}},"clientToken":"c1"}`), 1730481958)
	serve("$aws/things/lamp/shadow/update", []byte(`{"state":{"reported":{"on":true}},"version":7}`), 1730481959)
	serve("$aws/things/lamp/shadow/name/cfg/get", nil, 1730481960)
	// Output:
	// $aws/things/lamp/shadow/update/accepted {"state":{"desired":{"on":true}},"metadata":{"desired":{"on":{"timestamp":1730481958}}},"version":1,"timestamp":1730481958,"clientToken":"c1"}
	// $aws/things/lamp/shadow/update/documents {"current":{"state":{"desired":{"on":true}},"metadata":{"desired":{"on":{"timestamp":1730481958}}},"version":1},"timestamp":1730481958}
	// $aws/things/lamp/shadow/update/delta {"state":{"on":true},"metadata":{"on":{"timestamp":1730481958}},"version":1,"timestamp":1730481958,"clientToken":"c1"}
	// $aws/things/lamp/shadow/update/rejected {"code":409,"message":"Version conflict"}
	// $aws/things/lamp/shadow/name/cfg/get/rejected {"code":404,"message":"No shadow exists with name: 'cfg'"}
}

// ExampleParseReply shows the harness side: read the token, version and
// code of a reply without decoding its state.
func ExampleParseReply() {
	r, err := shadow.ParseReply([]byte(`{"code":409,"message":"Version conflict","clientToken":"c7"}`))
	fmt.Println(r.ClientToken, r.Code, r.Message, err)
	// Output: c7 409 Version conflict <nil>
}
