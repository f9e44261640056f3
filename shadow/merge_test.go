package shadow

import "testing"

// TestMergeRules checks the deep merge of reference §3 through the stored
// state get/accepted shows.
func TestMergeRules(t *testing.T) {
	cases := []struct {
		name    string
		updates []string
		want    string
	}{
		{"deep merge keeps untouched fields",
			[]string{`{"state":{"reported":{"a":1,"o":{"x":1,"y":2}}}}`, `{"state":{"reported":{"o":{"y":3,"z":4}}}}`},
			`{"reported":{"a":1,"o":{"x":1,"y":3,"z":4}}}`},
		{"null deletes a field",
			[]string{`{"state":{"reported":{"a":1,"b":2}}}`, `{"state":{"reported":{"a":null}}}`},
			`{"reported":{"b":2}}`},
		{"object left empty is removed",
			[]string{`{"state":{"reported":{"a":1,"o":{"x":1}}}}`, `{"state":{"reported":{"o":{"x":null}}}}`},
			`{"reported":{"a":1}}`},
		{"section left empty disappears",
			[]string{`{"state":{"reported":{"a":1},"desired":{"b":1}}}`, `{"state":{"reported":{"a":null}}}`},
			`{"desired":{"b":1},"delta":{"b":1}}`},
		{"empty object value is not stored",
			[]string{`{"state":{"reported":{"a":1,"e":{},"f":{"g":{}}}}}`},
			`{"reported":{"a":1}}`},
		{"object replaces a leaf",
			[]string{`{"state":{"reported":{"a":1}}}`, `{"state":{"reported":{"a":{"b":2,"c":null}}}}`},
			`{"reported":{"a":{"b":2}}}`},
		{"leaf replaces an object",
			[]string{`{"state":{"reported":{"a":{"b":2}}}}`, `{"state":{"reported":{"a":"s"}}}`},
			`{"reported":{"a":"s"}}`},
		{"object of nulls over a leaf removes it",
			[]string{`{"state":{"reported":{"a":1,"b":2}}}`, `{"state":{"reported":{"a":{"x":null}}}}`},
			`{"reported":{"b":2}}`},
		{"arrays replace whole",
			[]string{`{"state":{"reported":{"l":[1,2,3]}}}`, `{"state":{"reported":{"l":[4]}}}`},
			`{"reported":{"l":[4]}}`},
		{"desired null removes the section",
			[]string{`{"state":{"reported":{"a":1},"desired":{"a":2}}}`, `{"state":{"desired":null}}`},
			`{"reported":{"a":1}}`},
		{"reported null removes the section",
			[]string{`{"state":{"reported":{"a":1},"desired":{"a":1}}}`, `{"state":{"reported":null}}`},
			`{"desired":{"a":1},"delta":{"a":1}}`},
		{"state null empties both",
			[]string{`{"state":{"reported":{"a":1},"desired":{"a":2}}}`, `{"state":null}`},
			`{}`},
		{"empty state changes nothing",
			[]string{`{"state":{"reported":{"a":1}}}`, `{"state":{}}`, `{"state":{"reported":{}}}`},
			`{"reported":{"a":1}}`},
		{"new keys appended in first-appearance order",
			[]string{`{"state":{"reported":{"b":1,"a":1}}}`, `{"state":{"reported":{"c":1,"a":2}}}`},
			`{"reported":{"b":1,"a":2,"c":1}}`},
		{"removed then re-added key goes last",
			[]string{`{"state":{"reported":{"a":1,"b":1}}}`, `{"state":{"reported":{"a":null}}}`, `{"state":{"reported":{"a":3}}}`},
			`{"reported":{"b":1,"a":3}}`},
		{"duplicate keys: last wins at first position",
			[]string{`{"state":{"reported":{"a":1,"b":2,"a":3}}}`},
			`{"reported":{"a":3,"b":2}}`},
		{"escaped and plain keys are the same key",
			[]string{`{"state":{"reported":{"ab":1}}}`, `{"state":{"reported":{"a\u0062":2}}}`},
			`{"reported":{"ab":2}}`},
		{"values stored as sent",
			[]string{`{"state":{"reported":{"n":1.50,"s":"\u00e9\n","t":true,"f":false}}}`},
			`{"reported":{"n":1.50,"s":"\u00e9\n","t":true,"f":false}}`},
		{"longer value after shorter one",
			[]string{`{"state":{"reported":{"s":"a"}}}`, `{"state":{"reported":{"s":"a much longer string than before"}}}`, `{"state":{"reported":{"s":"b"}}}`},
			`{"reported":{"s":"b"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Shadow{}
			for i, u := range c.updates {
				update(t, s, u, int64(i+1))
			}
			if got := getState(t, s); got != c.want {
				t.Errorf("state\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

// TestMetadataMirrorsFields checks that every leaf gets its timestamp at
// the mirrored path, arrays one for the whole array, and that metadata goes
// with its field.
func TestMetadataMirrorsFields(t *testing.T) {
	s := &Shadow{}
	update(t, s, `{"state":{"reported":{"a":1,"o":{"x":1,"y":[1,{"z":2}]}}}}`, 100)
	update(t, s, `{"state":{"reported":{"o":{"x":2}}}}`, 200)
	r := s.Get(nil, 300, Limits{})
	want := `{"state":{"reported":{"a":1,"o":{"x":2,"y":[1,{"z":2}]}}},"metadata":{"reported":{"a":{"timestamp":100},"o":{"x":{"timestamp":200},"y":{"timestamp":100}}}},"version":2,"timestamp":300}`
	if string(r.Accepted) != want {
		t.Errorf("get\n got %s\nwant %s", r.Accepted, want)
	}
	update(t, s, `{"state":{"reported":{"o":{"y":null}}}}`, 400)
	r = s.Get(nil, 500, Limits{})
	want = `{"state":{"reported":{"a":1,"o":{"x":2}}},"metadata":{"reported":{"a":{"timestamp":100},"o":{"x":{"timestamp":200}}}},"version":3,"timestamp":500}`
	if string(r.Accepted) != want {
		t.Errorf("get after removal\n got %s\nwant %s", r.Accepted, want)
	}
}

// TestUpdateDoesNotAliasPayload checks that the stored state and earlier
// results survive the caller reusing its buffers.
func TestUpdateDoesNotAliasPayload(t *testing.T) {
	s := &Shadow{}
	buf := []byte(`{"state":{"reported":{"k":"v1","l":[1]}},"clientToken":"t1"}`)
	r1 := s.Update(buf, 1, Limits{})
	acc, doc := string(r1.Accepted), string(r1.Documents)
	copy(buf, []byte(`{"state":{"reported":{"k":"v2","l":[2]}},"clientToken":"t2"}`))
	if got := getState(t, s); got != `{"reported":{"k":"v1","l":[1]}}` {
		t.Errorf("stored state follows the payload buffer: %s", got)
	}
	r2 := s.Update(buf, 2, Limits{})
	if string(r1.Accepted) != acc || string(r1.Documents) != doc || r1.ClientToken != "t1" {
		t.Errorf("first result changed by a later update")
	}
	if r2.ClientToken != "t2" {
		t.Errorf("second token %q", r2.ClientToken)
	}
}
