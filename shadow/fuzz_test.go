package shadow

import (
	"encoding/json"
	"testing"
)

var fuzzSeeds = []string{
	`{"state":{"desired":{"a":1,"o":{"x":[1,2]}},"reported":{"a":2}},"clientToken":"c","version":0}`,
	`{"state":{"reported":{"a":null,"o":{"x":null}}}}`,
	`{"state":null}`,
	`{"state":{}}`,
	`{"state":{"desired":null,"reported":{"s":"\u00e9\"","n":1.5e3}}}`,
	`{"state":{"desired":{"l":[null]}}}`,
	`{"state":{"delta":1}}`,
	`{"state":{"reported":{"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}}}`,
	`{"version":-1,"state":{}}`,
	"{\"state\":{\"reported\":{\"a\":\"\xff\"}}}",
	`[]`,
	``,
}

// FuzzUpdate feeds arbitrary payloads to a shadow with a small size limit
// (an arbitrary first update, then an update, get or delete) and checks the
// invariants: no panic; the
// version rises by one per accept and not at all on reject; delta keys come
// from desired; the stored state stays within the limit; every document is
// valid JSON and survives persistence.
func FuzzUpdate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(`{"state":{"desired":{"a":1,"o":{"x":1}},"reported":{"a":2,"z":[1]}}}`), []byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, first, payload []byte, op uint8) {
		lim := Limits{MaxStateBytes: 256}
		s := &Shadow{Name: "fuzz"}
		s.Update(first, 1, lim)
		before := s.Version()
		var r Result
		predicted := -1
		switch op % 3 {
		case 0:
			if req, rej := s.parseUpdate(payload, lim.withDefaults()); rej == nil && !req.stateNull {
				predicted = s.mergedStateSize(&req)
			}
			r = s.Update(payload, 2, lim)
		case 1:
			r = s.Get(payload, 2, lim)
		default:
			r = s.Delete(payload, 2, lim)
		}
		for name, doc := range map[string][]byte{"accepted": r.Accepted, "rejected": r.Rejected, "documents": r.Documents, "delta": r.Delta} {
			if doc != nil && !json.Valid(doc) {
				t.Fatalf("%s is not valid JSON: %s", name, doc)
			}
		}
		if (r.Code == 0) == (r.Rejected != nil) || (r.Code == 0) != (r.Accepted != nil) {
			t.Fatalf("code %d with accepted %q rejected %q", r.Code, r.Accepted, r.Rejected)
		}
		want := before
		if r.Code == 0 && op%3 == 0 {
			want++
		}
		if s.Version() != want {
			t.Fatalf("version %d after code %d, want %d", s.Version(), r.Code, want)
		}
		if size := s.mergedStateSize(&request{}); size > lim.MaxStateBytes {
			t.Fatalf("stored state %d bytes over the limit %d", size, lim.MaxStateBytes)
		}
		state := appendStateForCheck(s)
		if s.mergedStateSize(&request{}) != len(state) {
			t.Fatalf("size %d disagrees with encoding %s", s.mergedStateSize(&request{}), state)
		}
		if r.Code == 0 && predicted >= 0 && predicted != len(state) {
			t.Fatalf("predicted size %d, stored %d: %s", predicted, len(state), state)
		}
		if r.Code == 413 && predicted <= lim.MaxStateBytes {
			t.Fatalf("413 with predicted size %d", predicted)
		}
		if r.Delta != nil {
			var delta struct {
				State map[string]json.RawMessage
			}
			var docs struct {
				Current struct {
					State struct{ Desired map[string]json.RawMessage }
				}
			}
			if err := json.Unmarshal(r.Delta, &delta); err != nil || len(delta.State) == 0 {
				t.Fatalf("delta %s: %v", r.Delta, err)
			}
			if err := json.Unmarshal(r.Documents, &docs); err != nil {
				t.Fatal(err)
			}
			for k := range delta.State {
				if _, ok := docs.Current.State.Desired[k]; !ok {
					t.Fatalf("delta key %q not in desired %s", k, r.Documents)
				}
			}
		}
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		back := &Shadow{Name: "fuzz"}
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatalf("unmarshal own encoding: %v", err)
		}
		if g1, g2 := s.Get(nil, 3, lim), back.Get(nil, 3, lim); string(g1.Accepted) != string(g2.Accepted) {
			t.Fatalf("persistence changed the shadow:\n%s\n%s", g1.Accepted, g2.Accepted)
		}
	})
}

// appendStateForCheck encodes the stored state as the size limit counts it.
func appendStateForCheck(s *Shadow) []byte {
	b, _, _ := s.appendSections([]byte{'{'}, false, &tsText{})
	return append(b, '}')
}

func FuzzParseTopic(f *testing.F) {
	for _, s := range []string{"$aws/things/t/shadow/update/delta", "$aws/things/t/shadow/name/s/get", "$aws/things/t/shadow/name/s", "$aws/things/t/jobs"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, topic string) {
		tp, err := ParseTopic(topic)
		if err != nil {
			return
		}
		if tp.String() != topic {
			t.Fatalf("ParseTopic(%q) = %+v, which prints as %q", topic, tp, tp.String())
		}
		if ValidateThingName(tp.Thing) != nil || (tp.Shadow != "" && ValidateShadowName(tp.Shadow) != nil) {
			t.Fatalf("ParseTopic(%q) accepted invalid names %+v", topic, tp)
		}
	})
}

func FuzzParseReply(f *testing.F) {
	for _, s := range []string{
		`{"state":{"reported":{"a":1}},"metadata":{},"version":1,"timestamp":2,"clientToken":"c"}`,
		`{"code":404,"message":"No shadow exists with name: 'x'"}`,
		`{"previous":{"version":1},"current":{"version":2},"timestamp":3}`,
		`{"a":[1,{"b":null}],"clientToken":"\u0041"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		r, err := ParseReply(payload)
		if err != nil {
			return
		}
		if !json.Valid(payload) {
			t.Fatalf("ParseReply accepted invalid JSON %q", payload)
		}
		if r.State != nil && !json.Valid(r.State) {
			t.Fatalf("state %q is not valid JSON", r.State)
		}
	})
}
