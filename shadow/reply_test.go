package shadow

import (
	"strings"
	"testing"
)

func TestParseReply(t *testing.T) {
	cases := []struct {
		name    string
		payload string
		want    Reply
	}{
		{"update accepted", `{"state":{"reported":{"Color":"green"}},"metadata":{"reported":{"Color":{"timestamp":1730481958}}},"version":1,"timestamp":1730481958,"clientToken":"58de"}`,
			Reply{ClientToken: "58de", Version: 1, Timestamp: 1730481958, State: []byte(`{"reported":{"Color":"green"}}`)}},
		{"rejected", `{"code":409,"message":"Version conflict","clientToken":"c"}`,
			Reply{ClientToken: "c", Code: 409, Message: "Version conflict"}},
		{"state null", `{"state":null,"metadata":{"timestamp":5},"version":3,"timestamp":5}`,
			Reply{Version: 3, Timestamp: 5, State: []byte(`null`)}},
		{"documents take current version", `{"previous":{"state":{},"metadata":{},"version":6},"current":{"state":{},"metadata":{},"version":7},"timestamp":9}`,
			Reply{Version: 7, Timestamp: 9}},
		{"delete accepted with whitespace and escapes", " { \"version\" : 9 , \"timestamp\":10, \"client\\u0054oken\":\"a\\\"b\" } \n",
			Reply{Version: 9, Timestamp: 10, ClientToken: `a"b`}},
		{"unknown fields skipped", `{"x":[1,{"y":null}],"version":2}`, Reply{Version: 2}},
		{"empty object", `{}`, Reply{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseReply([]byte(c.payload))
			if err != nil {
				t.Fatal(err)
			}
			if got.ClientToken != c.want.ClientToken || got.Version != c.want.Version || got.Timestamp != c.want.Timestamp ||
				got.Code != c.want.Code || got.Message != c.want.Message || string(got.State) != string(c.want.State) {
				t.Errorf("got %+v (state %s), want %+v (state %s)", got, got.State, c.want, c.want.State)
			}
		})
	}
}

func TestParseReplyRejects(t *testing.T) {
	cases := []struct{ payload, errContains string }{
		{``, "want a JSON object"},
		{`[1]`, "want a JSON object"},
		{`{"version":"1"}`, `field "version"`},
		{`{"version":1.5}`, `field "version"`},
		{`{"code":"x"}`, `field "code"`},
		{`{"clientToken":1}`, `field "clientToken"`},
		{`{"message":null}`, `field "message"`},
		{`{"version":1`, "want ',' or '}'"},
		{`{"version":1}x`, "trailing data"},
		{`{"a":tru}`, "invalid JSON value"},
		{`{1:2}`, "want a member name"},
	}
	for _, c := range cases {
		_, err := ParseReply([]byte(c.payload))
		if err == nil || !strings.Contains(err.Error(), c.errContains) {
			t.Errorf("ParseReply(%q) = %v, want error containing %q", c.payload, err, c.errContains)
		}
	}
}

// TestParseReplyReadsOwnDocuments parses every document the Shadow makes.
func TestParseReplyReadsOwnDocuments(t *testing.T) {
	s := &Shadow{Name: "t"}
	r := update(t, s, `{"state":{"desired":{"a":1}},"clientToken":"tok"}`, 5)
	for _, doc := range [][]byte{r.Accepted, r.Documents, r.Delta} {
		rep, err := ParseReply(doc)
		if err != nil || rep.Version != 1 || rep.Timestamp != 5 {
			t.Errorf("ParseReply(%s) = %+v, %v", doc, rep, err)
		}
	}
	g := s.Get([]byte(`{"version":3,"clientToken":"g"}`), 6, Limits{})
	rep, err := ParseReply(g.Rejected)
	if err != nil || rep.Code != 409 || rep.Message != MsgVersionConflict || rep.ClientToken != "g" {
		t.Errorf("ParseReply(%s) = %+v, %v", g.Rejected, rep, err)
	}
}
