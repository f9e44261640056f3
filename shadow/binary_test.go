package shadow

import (
	"bytes"
	"strings"
	"testing"
)

func TestBinaryRoundTrip(t *testing.T) {
	cases := []struct {
		name    string
		updates []string
		deleted bool
	}{
		{"never created", nil, false},
		{"full", []string{`{"state":{"desired":{"a":1,"o":{"x":"s","l":[1,{"k":true}]}},"reported":{"a\"b":2.5,"f":false}}}`, `{"state":{"reported":{"a\"b":3}}}`}, false},
		{"deleted keeps version", []string{`{"state":{"reported":{"a":1}}}`, `{"state":{"reported":{"a":2}}}`}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Shadow{Name: "t"}
			for i, u := range c.updates {
				update(t, s, u, int64(10*(i+1)))
			}
			if c.deleted {
				s.Delete(nil, 99, Limits{})
			}
			b, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			back := &Shadow{Name: "t"}
			if err := back.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if back.Exists() != s.Exists() || back.Version() != s.Version() {
				t.Errorf("exists/version %v/%d, want %v/%d", back.Exists(), back.Version(), s.Exists(), s.Version())
			}
			g1, g2 := s.Get(nil, 100, Limits{}), back.Get(nil, 100, Limits{})
			if !bytes.Equal(g1.Accepted, g2.Accepted) || !bytes.Equal(g1.Rejected, g2.Rejected) {
				t.Errorf("get differs after round trip:\n%s%s\n%s%s", g1.Accepted, g1.Rejected, g2.Accepted, g2.Rejected)
			}
			u1 := s.Update([]byte(`{"state":{"reported":{"a":7}}}`), 200, Limits{})
			u2 := back.Update([]byte(`{"state":{"reported":{"a":7}}}`), 200, Limits{})
			if !bytes.Equal(u1.Documents, u2.Documents) || !bytes.Equal(u1.Delta, u2.Delta) {
				t.Errorf("update differs after round trip:\n%s\n%s", u1.Documents, u2.Documents)
			}
		})
	}
}

func TestUnmarshalBinaryRejectsCorruptInput(t *testing.T) {
	s := &Shadow{}
	update(t, s, `{"state":{"desired":{"a":1,"o":{"x":"s"}}}}`, 1)
	good, _ := s.MarshalBinary()
	cases := []struct {
		name, errContains string
		data              []byte
	}{
		{"empty", "header", nil},
		{"wrong format", "header", append([]byte{9}, good[1:]...)},
		{"truncated", "", good[:len(good)-1]},
		{"trailing", "trailing", append(append([]byte{}, good...), 0)},
		{"nonexistent with state", "does not exist", append([]byte{1, 0}, good[2:]...)},
		{"bad leaf", "invalid leaf", bytes.Replace(good, []byte("\"s\""), []byte("\"s "), 1)},
	}
	for _, c := range cases {
		back := &Shadow{}
		err := back.UnmarshalBinary(c.data)
		if err == nil || !strings.Contains(err.Error(), c.errContains) {
			t.Errorf("%s: err %v, want one containing %q", c.name, err, c.errContains)
		}
		if back.Exists() || back.Version() != 0 {
			t.Errorf("%s: failed unmarshal changed the shadow", c.name)
		}
	}
}

// TestTrimKeepsState checks that Trim drops only caches.
func TestTrimKeepsState(t *testing.T) {
	s := &Shadow{Name: "t"}
	update(t, s, `{"state":{"desired":{"a":1},"reported":{"a":2}}}`, 1)
	before := s.Get(nil, 2, Limits{}).Accepted
	s.Trim()
	if after := s.Get(nil, 2, Limits{}).Accepted; !bytes.Equal(before, after) {
		t.Errorf("get after Trim\n got %s\nwant %s", after, before)
	}
	s.Trim()
	if r := update(t, s, `{"state":{"reported":{"a":1}}}`, 3); r.Delta != nil || !strings.Contains(string(r.Documents), `"previous":{"state":{"desired":{"a":1},"reported":{"a":2}}`) {
		t.Errorf("update after Trim: %s %s", r.Documents, r.Delta)
	}
}

// TestBinaryRoundTripDeepShadow checks that a shadow nested as deep as a
// raised Limits.MaxDepth allows survives persistence.
func TestBinaryRoundTripDeepShadow(t *testing.T) {
	cases := []struct {
		name  string
		depth int
	}{
		{"default depth", DefaultMaxDepth},
		{"deeper than 1000", 1500},
		{"at the MaxDepth cap", maxParseDepth - 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := `{"state":{"desired":` + strings.Repeat(`{"a":`, c.depth) + `1` + strings.Repeat(`}`, c.depth) + `}}`
			s := &Shadow{Name: "t"}
			if r := s.Update([]byte(body), 1, Limits{MaxDepth: c.depth, MaxStateBytes: 1 << 20}); r.Code != 0 {
				t.Fatalf("update: %s", r.Rejected)
			}
			b, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			back := &Shadow{Name: "t"}
			if err := back.UnmarshalBinary(b); err != nil {
				t.Fatalf("unmarshal own encoding: %v", err)
			}
			if g1, g2 := s.Get(nil, 2, Limits{}), back.Get(nil, 2, Limits{}); !bytes.Equal(g1.Accepted, g2.Accepted) {
				t.Errorf("get differs after round trip")
			}
		})
	}
}
