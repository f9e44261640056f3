package shadowsvc

import (
	"bytes"
	"strings"
	"testing"
)

func TestStateEncodingRoundTrips(t *testing.T) {
	tests := [][]record{
		nil,
		{{key: key{thing: "a"}, blob: []byte{1, 2, 3}}},
		{{key: key{thing: "a", name: "n"}, blob: nil}, {key: key{thing: "a"}, blob: bytes.Repeat([]byte{9}, 300)}},
	}
	for _, recs := range tests {
		got, err := decodeState(encodeState(recs))
		if err != nil {
			t.Fatalf("decode(encode(%v)): %v", recs, err)
		}
		if len(got) != len(recs) {
			t.Fatalf("decoded %d records, want %d", len(got), len(recs))
		}
		for i := range recs {
			if got[i].key != recs[i].key || !bytes.Equal(got[i].blob, recs[i].blob) {
				t.Errorf("record %d = %+v, want %+v", i, got[i], recs[i])
			}
		}
	}
}

func TestDecodeStateSaysWhatIsWrong(t *testing.T) {
	good := encodeState([]record{{key: key{thing: "a"}, blob: []byte("x")}})
	dup := encodeState([]record{{key: key{thing: "a"}, blob: nil}, {key: key{thing: "a"}, blob: nil}})
	empty := encodeState([]record{{key: key{name: "n"}, blob: nil}})
	flipped := append([]byte(nil), good...)
	flipped[len(stateMagic)+2] ^= 1
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "header"},
		{"other file", []byte("hello world, this is not it"), "header"},
		{"truncated", good[:len(good)-2], "checksum"},
		{"flipped bit", flipped, "checksum"},
		{"repeated shadow", dup, "repeats"},
		{"empty thing", empty, "empty thing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeState(tc.b)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "offset") {
				t.Fatalf("decodeState: %v, want an error at an offset mentioning %q", err, tc.want)
			}
		})
	}
}

func FuzzDecodeState(f *testing.F) {
	f.Add(encodeState(nil))
	f.Add(encodeState([]record{{key: key{thing: "a", name: "b"}, blob: []byte("xyz")}}))
	f.Add([]byte(stateMagic + "\x05abcd"))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := decodeState(b)
		if err != nil {
			return
		}
		if again := encodeState(recs); !bytes.Equal(again, b) {
			t.Fatalf("decodeState accepted %q but re-encodes it as %q", b, again)
		}
	})
}
