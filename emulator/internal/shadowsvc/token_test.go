package shadowsvc

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFindClientTokenReadsOnlyTheTopLevelMember(t *testing.T) {
	tests := []struct {
		name, payload, want string
	}{
		{"only member", `{"clientToken":"abc"}`, `"abc"`},
		{"after state", `{"state":{"reported":{"clientToken":"inner"}},"clientToken":"outer"}`, `"outer"`},
		{"before state", ` { "clientToken" : "t1" , "state":{"desired":[1,{"x":"}"}]}}`, `"t1"`},
		{"escaped value kept raw", `{"clientToken":"a\"b\u00e9"}`, `"a\"b\u00e9"`},
		{"escaped key", `{"client\u0054oken":"k"}`, `"k"`},
		{"last repeat wins", `{"clientToken":"a","clientToken":"b"}`, `"b"`},
		{"nested only", `{"state":{"clientToken":"x"}}`, ``},
		{"number", `{"clientToken":12}`, ``},
		{"null", `{"clientToken":null}`, ``},
		{"string then null", `{"clientToken":"a","clientToken":null}`, ``},
		{"empty object", `{}`, ``},
		{"empty payload", ``, ``},
		{"array", `["clientToken","x"]`, ``},
		{"unterminated", `{"clientToken":"abc`, ``},
		{"truncated after", `{"clientToken":"abc",`, ``},
		{"control char", "{\"clientToken\":\"a\nb\"}", ``},
		{"case differs", `{"ClientToken":"abc"}`, ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := findClientToken([]byte(tc.payload))
			if string(got) != tc.want || ok != (tc.want != "") {
				t.Errorf("findClientToken(%s) = %q, %v; want %q", tc.payload, got, ok, tc.want)
			}
		})
	}
}

func TestRejectionTokenHonoursTheLimit(t *testing.T) {
	long := strings.Repeat("x", 65)
	tests := []struct {
		payload string
		max     int
		want    string
	}{
		{`{"clientToken":"abc"}`, 64, `abc`},
		{`{"clientToken":"` + long + `"}`, 64, ``},
		{`{"clientToken":"` + long + `"}`, 65, long},
		{`{"clientToken":"\u00e9"}`, 2, `é`},
		{`{"clientToken":"\u00e9"}`, 1, ``},
		{`{"clientToken":"\x"}`, 64, ``},
		{`{"clientToken":7}`, 64, ``},
	}
	for _, tc := range tests {
		if got := rejectionToken([]byte(tc.payload), tc.max); got != tc.want {
			t.Errorf("rejectionToken(%s, %d) = %q, want %q", tc.payload, tc.max, got, tc.want)
		}
	}
}

func FuzzFindClientToken(f *testing.F) {
	for _, s := range []string{
		`{"clientToken":"abc"}`,
		`{"state":{"reported":{"a":[1,"]",{"b":null}]}},"clientToken":"x\"y","version":3}`,
		`{"client\u0054oken":"k"}`,
		`{"clientToken":1}`,
		`[]`, `{`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		lit, ok := findClientToken(payload)
		if !json.Valid(payload) {
			return
		}
		var doc map[string]json.RawMessage
		if json.Unmarshal(payload, &doc) != nil {
			if ok {
				t.Fatalf("findClientToken(%q) = %q for a document that is not an object", payload, lit)
			}
			return
		}
		raw, has := doc["clientToken"]
		var want string
		isString := has && json.Unmarshal(raw, &want) == nil && len(raw) > 0 && raw[0] == '"'
		if ok != isString {
			t.Fatalf("findClientToken(%q) found=%v, encoding/json says string member=%v", payload, ok, isString)
		}
		if !ok {
			return
		}
		var got string
		if err := json.Unmarshal(lit, &got); err != nil || got != want {
			t.Fatalf("findClientToken(%q) = %q (%q, %v), want %q", payload, lit, got, err, want)
		}
	})
}
