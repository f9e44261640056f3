package shadow

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestParserAgreesWithEncodingJSON checks the parser's syntax decisions
// against encoding/json.Valid.
func TestParserAgreesWithEncodingJSON(t *testing.T) {
	cases := []string{
		`{}`, `[]`, `1`, `-0`, `0.5e+10`, `"a\u00e9\n"`, ` {"a" : [1, {"b":null}, true, false] } `,
		`{"a":1,}`, `[1,]`, `01`, `1.`, `.5`, `-`, `1e`, `1e+`, `"\x"`, `"\u12"`, "\"\x01\"", `{"a"}`,
		`{"a":1 "b":2}`, `[1 2]`, `tru`, `nul`, `{1:2}`, `"`, `[`, `{`, `{"a":`, `1 2`, ``, ` `,
		`{"a":[[[]]]}`, `"\ud83d\ude00"`, `"\/\b\f\r\t\\\""`,
	}
	for _, c := range cases {
		var p parser
		_, got := p.parse([]byte(c))
		if want := json.Valid([]byte(c)); got != want {
			t.Errorf("parse(%q) ok=%v, encoding/json says %v", c, got, want)
		}
		end, ok := skipValue([]byte(c), skipWS([]byte(c), 0), 0)
		ok = ok && skipWS([]byte(c), end) == len(c)
		if want := json.Valid([]byte(c)); ok != want {
			t.Errorf("skipValue(%q) ok=%v, encoding/json says %v", c, ok, want)
		}
	}
}

// TestStringsDecodeAndEncode checks escape decoding, comparison and the
// re-encoding of keys.
func TestStringsDecodeAndEncode(t *testing.T) {
	cases := []struct {
		raw, decoded string
	}{
		{`"plain"`, "plain"},
		{`"\b\f\n\r\t\/\\\""`, "\b\f\n\r\t/\\\""},
		{`"\u00e9\u20AC"`, "é€"},
		{`"\ud83d\ude00"`, "😀"},
		{`"\ud83d"`, "\uFFFD"},
		{`"\ude00x"`, "\uFFFDx"},
		{`"\u0001"`, "\x01"},
	}
	for _, c := range cases {
		body := []byte(c.raw[1 : len(c.raw)-1])
		if got := string(appendUnescaped(nil, body)); got != c.decoded {
			t.Errorf("decode %s = %q, want %q", c.raw, got, c.decoded)
		}
		enc := appendQuoted(nil, []byte(c.decoded))
		if len(enc) != quotedLen([]byte(c.decoded)) {
			t.Errorf("quotedLen(%q) = %d, encoding is %s", c.decoded, quotedLen([]byte(c.decoded)), enc)
		}
		var back string
		if err := json.Unmarshal(enc, &back); err != nil || back != c.decoded {
			t.Errorf("encode %q = %s, decodes to %q (%v)", c.decoded, enc, back, err)
		}
		if !equalString([]byte(c.raw), enc) {
			t.Errorf("equalString(%s, %s) = false", c.raw, enc)
		}
	}
	if equalString([]byte(`"ab"`), []byte(`"a"`)) || equalString([]byte(`"\u0061"`), []byte(`"b"`)) {
		t.Errorf("equalString matches different strings")
	}
}

// TestParserDuplicateKeys checks last-wins at the first position, for
// small objects and for ones large enough to use the map.
func TestParserDuplicateKeys(t *testing.T) {
	for _, n := range []int{3, indexThreshold + 10} {
		var b []byte
		b = append(b, '{')
		for i := range n {
			b = fmt.Appendf(b, `"k%d":%d,`, i, i)
		}
		b = append(b, `"k0":"last","k1":null}`...)
		var p parser
		root, ok := p.parse(b)
		if !ok || len(root.kids) != n {
			t.Fatalf("%d members: ok=%v, %d members parsed", n, ok, len(root.kids))
		}
		if got := string(root.kids[0].val.raw); got != `"last"` || root.kids[1].val.typ != tNull || string(root.kids[0].key) != "k0" {
			t.Errorf("%d members: first %s=%s, second %s=%s", n, root.kids[0].key, got, root.kids[1].key, root.kids[1].val.raw)
		}
	}
}

func TestErrorText(t *testing.T) {
	e := &Error{Code: 404, Message: NotFoundMessage("x")}
	if e.Error() != "shadow: 404 No shadow exists with name: 'x'" {
		t.Errorf("Error() = %q", e.Error())
	}
	if got := string(AppendErrorDocument(nil, 429, MsgTooManyRequests, "t\"")); got != `{"code":429,"message":"TOO_MANY_REQUESTS","clientToken":"t\""}` {
		t.Errorf("AppendErrorDocument = %s", got)
	}
}

// FuzzParseJSON checks the parser, skipValue and the compactor against
// encoding/json.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1, {"b" : "c d"}]}`, `"\ud83d\ude00"`, `-1.5e-3`, `[1,]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p parser
		n, ok := p.parse(data)
		want := json.Valid(data)
		if ok != want && !p.tooDeep {
			t.Fatalf("parse(%q) ok=%v, encoding/json says %v", data, ok, want)
		}
		end, sok := skipValue(data, skipWS(data, 0), 0)
		if sok = sok && skipWS(data, end) == len(data); sok != want {
			t.Fatalf("skipValue(%q) ok=%v, encoding/json says %v", data, sok, want)
		}
		if !ok {
			return
		}
		enc := appendValue(nil, &n)
		if len(enc) != valueLen(&n) || !json.Valid(enc) {
			t.Fatalf("re-encoding %q gave %q (valueLen %d)", data, enc, valueLen(&n))
		}
		var q parser
		m, ok := q.parse(enc)
		if !ok || !equalValue(&n, &m) {
			t.Fatalf("re-encoding %q as %q changed the value", data, enc)
		}
	})
}
