package shadowsvc

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
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

// withChecksum appends the state file's checksum to body, so that the
// fuzzer explores the records rather than the checksum.
func withChecksum(body []byte) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(nil), body...), crc32.ChecksumIEEE(body))
}

func FuzzDecodeState(f *testing.F) {
	for _, recs := range [][]record{nil, {{key: key{thing: "a", name: "b"}, blob: []byte("xyz")}}} {
		b := encodeState(recs)
		f.Add(b[:len(b)-4])
	}
	f.Add([]byte(stateMagic + "\x05abcd"))
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, err := decodeState(withChecksum(body))
		if err != nil {
			return
		}
		again, err := decodeState(encodeState(recs))
		if err != nil || len(again) != len(recs) {
			t.Fatalf("records %+v decoded from %q do not survive a re-encoding: %+v, %v", recs, body, again, err)
		}
		for i := range recs {
			if again[i].key != recs[i].key || !bytes.Equal(again[i].blob, recs[i].blob) {
				t.Fatalf("record %d: %+v re-decodes as %+v", i, recs[i], again[i])
			}
		}
	})
}

func TestCloseReportsAnUnwritableDataDir(t *testing.T) {
	dir := t.TempDir()
	s, err := New(Config{DataDir: dir}, newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(dir, "shadows")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s.Handle(nil, shadowTopic("a", "", "update"), []byte(`{"state":{"desired":{"x":1},"reported":{"x":1}}}`))
	err = s.Close()
	if err == nil || !strings.Contains(err.Error(), "save shadows") || !strings.Contains(err.Error(), blocker) {
		t.Fatalf("Close with DATA/shadows a regular file: %v, want a save error naming %s", err, blocker)
	}
	if again := s.Close(); again == nil || again.Error() != err.Error() {
		t.Fatalf("second Close = %v, want the first error again", again)
	}
}

func TestNewReportsTheShadowItCannotRestore(t *testing.T) {
	dir := t.TempDir()
	path := stateFile(dir)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	state := encodeState([]record{{key: key{thing: "dev", name: "cfg"}, blob: []byte("not a shadow")}})
	if err := os.WriteFile(path, state, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{DataDir: dir}, newRecorder())
	if err == nil || !strings.Contains(err.Error(), `shadow "cfg" of thing "dev"`) || !strings.Contains(err.Error(), path) {
		t.Fatalf("New: %v, want an error naming the shadow and %s", err, path)
	}
}

func TestNewReportsAnUnreadableStateFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(stateFile(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{DataDir: dir}, newRecorder())
	if err == nil || !strings.Contains(err.Error(), "load shadows") {
		t.Fatalf("New with a directory as state file: %v, want a load error", err)
	}
}
