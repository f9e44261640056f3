package shadow

import "testing"

// TestDeltaRules checks the delta of reference §3 as update/delta shows it.
func TestDeltaRules(t *testing.T) {
	cases := []struct {
		name     string
		desired  string
		reported string
		want     string // delta state, "" when no delta is published
	}{
		{"equal values give no delta", `{"a":1,"b":"x"}`, `{"b":"x","a":1}`, ""},
		{"missing in reported", `{"a":1,"b":2}`, `{"a":1}`, `{"b":2}`},
		{"different value", `{"a":1}`, `{"a":2}`, `{"a":1}`},
		{"fields only in reported never appear", `{"a":1}`, `{"a":1,"z":5}`, ""},
		{"objects keep the full path", `{"o":{"p":{"x":1,"y":2},"q":3}}`, `{"o":{"p":{"x":1,"y":9},"q":3}}`, `{"o":{"p":{"y":2}}}`},
		{"object against leaf is whole", `{"o":{"x":1}}`, `{"o":5}`, `{"o":{"x":1}}`},
		{"leaf against object", `{"o":5}`, `{"o":{"x":1}}`, `{"o":5}`},
		{"numbers by value", `{"a":1,"b":1.5,"c":100,"d":-0,"e":123456789012345678901234567890}`,
			`{"a":1.0,"b":15e-1,"c":1E2,"d":0.0,"e":1.23456789012345678901234567890e29}`, ""},
		{"numbers beyond float64 precision differ", `{"a":9007199254740993}`, `{"a":9007199254740992}`, `{"a":9007199254740993}`},
		{"sign matters", `{"a":1}`, `{"a":-1}`, `{"a":1}`},
		{"strings by decoded text", `{"s":"\u00e9\/"}`, `{"s":"é/"}`, ""},
		{"strings differ", `{"s":"a"}`, `{"s":"b"}`, `{"s":"a"}`},
		{"types differ", `{"a":"1","b":true,"c":0}`, `{"a":1,"b":"true","c":false}`, `{"a":"1","b":true,"c":0}`},
		{"booleans", `{"a":true}`, `{"a":false}`, `{"a":true}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Shadow{}
			update(t, s, `{"state":{"reported":`+c.reported+`}}`, 1)
			r := update(t, s, `{"state":{"desired":`+c.desired+`},"clientToken":"d"}`, 2)
			if c.want == "" {
				if r.Delta != nil {
					t.Errorf("unexpected delta %s", r.Delta)
				}
				return
			}
			rep, err := ParseReply(r.Delta)
			if err != nil {
				t.Fatalf("delta %s: %v", r.Delta, err)
			}
			if string(rep.State) != c.want || rep.Version != 2 || rep.Timestamp != 2 || rep.ClientToken != "d" {
				t.Errorf("delta %s, want state %s version 2 timestamp 2 token d", r.Delta, c.want)
			}
		})
	}
}

// TestDeltaArraysCompareWhole checks that arrays are compared as whole
// values, by JSON value, and appear whole in the delta.
func TestDeltaArraysCompareWhole(t *testing.T) {
	cases := []struct {
		name, desired, reported, want string
	}{
		{"same array", `[1,2,3]`, `[1,2,3]`, ""},
		{"same values, other spelling", `[1.0, {"b":2,"a":"\u0041"}, []]`, `[1,{"a":"A","b":2.00},[]]`, ""},
		{"order matters", `[1,2]`, `[2,1]`, `[1,2]`},
		{"one element differs", `[1,[2,3]]`, `[1,[2,4]]`, `[1,[2,3]]`},
		{"longer", `[1,2]`, `[1]`, `[1,2]`},
		{"object in array keys differ", `[{"a":1}]`, `[{"a":1,"b":2}]`, `[{"a":1}]`},
		{"array against object", `[]`, `{"x":1}`, `[]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Shadow{}
			update(t, s, `{"state":{"reported":{"l":`+c.reported+`}}}`, 1)
			r := update(t, s, `{"state":{"desired":{"l":`+c.desired+`}}}`, 2)
			want := ""
			if c.want != "" {
				want = `{"state":{"l":` + c.want + `},"metadata":{"l":{"timestamp":2}},"version":2,"timestamp":2}`
			}
			if string(r.Delta) != want {
				t.Errorf("delta\n got %s\nwant %s", r.Delta, want)
			}
		})
	}
}

// TestDeltaAfterReportedOnlyUpdate checks that an update of reported alone
// publishes the whole remaining delta with its own version and token, and
// none once reported catches up.
func TestDeltaAfterReportedOnlyUpdate(t *testing.T) {
	s := &Shadow{}
	update(t, s, `{"state":{"desired":{"a":1,"b":2,"o":{"x":1}}}}`, 10)
	r := update(t, s, `{"state":{"reported":{"a":1}},"clientToken":"rep"}`, 20)
	want := `{"state":{"b":2,"o":{"x":1}},"metadata":{"b":{"timestamp":10},"o":{"x":{"timestamp":10}}},"version":2,"timestamp":20,"clientToken":"rep"}`
	if string(r.Delta) != want {
		t.Errorf("delta\n got %s\nwant %s", r.Delta, want)
	}
	r = update(t, s, `{"state":{"reported":{"b":2.0,"o":{"x":1}}}}`, 30)
	if r.Delta != nil {
		t.Errorf("delta after catching up: %s", r.Delta)
	}
	if got := getState(t, s); got != `{"desired":{"a":1,"b":2,"o":{"x":1}},"reported":{"a":1,"b":2.0,"o":{"x":1}}}` {
		t.Errorf("state %s", got)
	}
}

func TestEqualNumber(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"0", "-0", true}, {"0", "0e10", true}, {"0.000", "0", true},
		{"10", "1e1", true}, {"10", "100e-1", true}, {"0.01", "1e-2", true},
		{"12.5", "125e-1", true}, {"1", "10", false}, {"1e400", "10e399", true},
		{"1e400", "1e401", false}, {"-2.50", "-25E-1", true}, {"2", "-2", false},
		{"123", "1230e-1", true}, {"123", "12.4e1", false}, {"5e-324", "0", false},
		{"1e99999999999999999999", "1e99999999999999999998", false},
		{"1e99999999999999999999", "10e99999999999999999998", true},
		{"1.5e-99999999999999999999", "15e-100000000000000000000", true},
		{"1e99999999999999999999", "1e5", false},
		{"0", "10", false}, {"-0", "10", false}, {"-0", "0", true}, {"7", "-7", false}, {"12", "21", false},
	}
	for _, c := range cases {
		if got := equalNumber([]byte(c.a), []byte(c.b)); got != c.want {
			t.Errorf("equalNumber(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := equalNumber([]byte(c.b), []byte(c.a)); got != c.want {
			t.Errorf("equalNumber(%s, %s) = %v, want %v", c.b, c.a, got, c.want)
		}
	}
}
