package shadow

import "testing"

// TestResponsesMatchReferenceShapes checks every response shape of
// reference §2 byte for byte over one shadow's life.
func TestResponsesMatchReferenceShapes(t *testing.T) {
	run(t, "lamp", Limits{}, []step{
		{op: OpGet, body: ``, now: 1730481950, code: 404,
			rejected: `{"code":404,"message":"No shadow exists with name: 'lamp'"}`},
		{op: OpUpdate, body: `{"state":{"reported":{"Color":"green"}},"clientToken":"58de"}`, now: 1730481958,
			accepted: `{"state":{"reported":{"Color":"green"}},"metadata":{"reported":{"Color":{"timestamp":1730481958}}},"version":1,"timestamp":1730481958,"clientToken":"58de"}`,
			docs:     `{"current":{"state":{"reported":{"Color":"green"}},"metadata":{"reported":{"Color":{"timestamp":1730481958}}},"version":1},"timestamp":1730481958}`},
		{op: OpUpdate, body: `{"state":{"desired":{"Status":"Great","Color":"green"}},"clientToken":"af54"}`, now: 1730483069,
			accepted: `{"state":{"desired":{"Status":"Great","Color":"green"}},"metadata":{"desired":{"Status":{"timestamp":1730483069},"Color":{"timestamp":1730483069}}},"version":2,"timestamp":1730483069,"clientToken":"af54"}`,
			docs:     `{"previous":{"state":{"reported":{"Color":"green"}},"metadata":{"reported":{"Color":{"timestamp":1730481958}}},"version":1},"current":{"state":{"desired":{"Status":"Great","Color":"green"},"reported":{"Color":"green"}},"metadata":{"desired":{"Status":{"timestamp":1730483069},"Color":{"timestamp":1730483069}},"reported":{"Color":{"timestamp":1730481958}}},"version":2},"timestamp":1730483069}`,
			delta:    `{"state":{"Status":"Great"},"metadata":{"Status":{"timestamp":1730483069}},"version":2,"timestamp":1730483069,"clientToken":"af54"}`},
		{op: OpUpdate, body: `{"state":{"reported":{"Color":"blue"}},"clientToken":"r1"}`, now: 1730483858,
			accepted: `{"state":{"reported":{"Color":"blue"}},"metadata":{"reported":{"Color":{"timestamp":1730483858}}},"version":3,"timestamp":1730483858,"clientToken":"r1"}`,
			docs:     `{"previous":{"state":{"desired":{"Status":"Great","Color":"green"},"reported":{"Color":"green"}},"metadata":{"desired":{"Status":{"timestamp":1730483069},"Color":{"timestamp":1730483069}},"reported":{"Color":{"timestamp":1730481958}}},"version":2},"current":{"state":{"desired":{"Status":"Great","Color":"green"},"reported":{"Color":"blue"}},"metadata":{"desired":{"Status":{"timestamp":1730483069},"Color":{"timestamp":1730483069}},"reported":{"Color":{"timestamp":1730483858}}},"version":3},"timestamp":1730483858}`,
			delta:    `{"state":{"Status":"Great","Color":"green"},"metadata":{"Status":{"timestamp":1730483069},"Color":{"timestamp":1730483069}},"version":3,"timestamp":1730483858,"clientToken":"r1"}`},
		{op: OpGet, body: `{"clientToken":"g1"}`, now: 1730483900,
			accepted: `{"state":{"desired":{"Status":"Great","Color":"green"},"reported":{"Color":"blue"},"delta":{"Status":"Great","Color":"green"}},"metadata":{"desired":{"Status":{"timestamp":1730483069},"Color":{"timestamp":1730483069}},"reported":{"Color":{"timestamp":1730483858}}},"version":3,"timestamp":1730483900,"clientToken":"g1"}`},
		{op: OpUpdate, body: `{"state":{"reported":{"Color":"green","Status":"Great"}}}`, now: 1730484000,
			accepted: `{"state":{"reported":{"Color":"green","Status":"Great"}},"metadata":{"reported":{"Color":{"timestamp":1730484000},"Status":{"timestamp":1730484000}}},"version":4,"timestamp":1730484000}`,
			docs:     "-", delta: ""},
		{op: OpGet, now: 1730484001,
			accepted: `{"state":{"desired":{"Status":"Great","Color":"green"},"reported":{"Color":"green","Status":"Great"}},"metadata":{"desired":{"Status":{"timestamp":1730483069},"Color":{"timestamp":1730483069}},"reported":{"Color":{"timestamp":1730484000},"Status":{"timestamp":1730484000}}},"version":4,"timestamp":1730484001}`},
		{op: OpUpdate, body: `{"state":null,"clientToken":"n"}`, now: 1730484100,
			accepted: `{"state":null,"metadata":{"timestamp":1730484100},"version":5,"timestamp":1730484100,"clientToken":"n"}`,
			docs:     `{"previous":{"state":{"desired":{"Status":"Great","Color":"green"},"reported":{"Color":"green","Status":"Great"}},"metadata":{"desired":{"Status":{"timestamp":1730483069},"Color":{"timestamp":1730483069}},"reported":{"Color":{"timestamp":1730484000},"Status":{"timestamp":1730484000}}},"version":4},"current":{"state":{},"metadata":{},"version":5},"timestamp":1730484100}`},
		{op: OpGet, now: 1730484101,
			accepted: `{"state":{},"metadata":{},"version":5,"timestamp":1730484101}`},
		{op: OpDelete, body: `{"clientToken":"d1"}`, now: 1730484200,
			accepted: `{"version":5,"timestamp":1730484200,"clientToken":"d1"}`},
		{op: OpDelete, body: ``, now: 1730484201, code: 404,
			rejected: `{"code":404,"message":"No shadow exists with name: 'lamp'"}`},
		{op: OpUpdate, body: `{"state":{"desired":{"on":true}},"version":5}`, now: 1730484300,
			accepted: `{"state":{"desired":{"on":true}},"metadata":{"desired":{"on":{"timestamp":1730484300}}},"version":6,"timestamp":1730484300}`,
			docs:     `{"current":{"state":{"desired":{"on":true}},"metadata":{"desired":{"on":{"timestamp":1730484300}}},"version":6},"timestamp":1730484300}`,
			delta:    `{"state":{"on":true},"metadata":{"on":{"timestamp":1730484300}},"version":6,"timestamp":1730484300}`},
	})
}

// TestUpdateAcceptedEchoesAsSent checks that update/accepted holds only the
// sent sections and fields, in the order sent, nulls included.
func TestUpdateAcceptedEchoesAsSent(t *testing.T) {
	s := &Shadow{Name: "t"}
	update(t, s, `{"state":{"desired":{"a":1,"b":{"c":2}},"reported":{"x":1}}}`, 10)
	cases := []struct {
		name, body, want string
	}{
		{"reported before desired", `{"state":{"reported":{"x":2},"desired":{"a":3}}}`,
			`{"state":{"reported":{"x":2},"desired":{"a":3}},"metadata":{"reported":{"x":{"timestamp":20}},"desired":{"a":{"timestamp":20}}},"version":3,"timestamp":20}`},
		{"null field echoed", `{"state":{"desired":{"a":null,"b":{"c":null}}}}`,
			`{"state":{"desired":{"a":null,"b":{"c":null}}},"metadata":{"desired":{"a":{"timestamp":20},"b":{"c":{"timestamp":20}}}},"version":3,"timestamp":20}`},
		{"section null", `{"state":{"desired":null}}`,
			`{"state":{"desired":null},"metadata":{"desired":{"timestamp":20}},"version":3,"timestamp":20}`},
		{"empty state", `{"state":{}}`,
			`{"state":{},"metadata":{},"version":3,"timestamp":20}`},
		{"whitespace and arrays compacted", "{ \"state\" : { \"reported\" : { \"l\" : [ 1 , \"a b\" , { \"k\" : [ ] } ] } } }",
			`{"state":{"reported":{"l":[1,"a b",{"k":[]}]}},"metadata":{"reported":{"l":{"timestamp":20}}},"version":3,"timestamp":20}`},
		{"escaped key re-encoded", `{"state":{"reported":{"a\u0062\"":1}}}`,
			`{"state":{"reported":{"ab\"":1}},"metadata":{"reported":{"ab\"":{"timestamp":20}}},"version":3,"timestamp":20}`},
		{"other top-level keys ignored", `{"state":{"reported":{"x":1}},"foo":[null],"bar":{"baz":1}}`,
			`{"state":{"reported":{"x":1}},"metadata":{"reported":{"x":{"timestamp":20}}},"version":3,"timestamp":20}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cp := &Shadow{Name: "t"}
			b, _ := s.MarshalBinary()
			if err := cp.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			update(t, cp, `{"state":{}}`, 15)
			r := update(t, cp, c.body, 20)
			if string(r.Accepted) != c.want {
				t.Errorf("accepted\n got %s\nwant %s", r.Accepted, c.want)
			}
		})
	}
}
