package shadowsvc

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shadowload/shadowload/shadow"
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

func TestNewReportsAnUnwritableDataDir(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "shadows")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{DataDir: dir}, newRecorder())
	if err == nil || !strings.Contains(err.Error(), "recover shadows") || !strings.Contains(err.Error(), blocker) {
		t.Fatalf("New with DATA/shadows a regular file: %v, want an error naming %s", err, blocker)
	}
}

func TestStateFileMovesIntoTheLog(t *testing.T) {
	dir := t.TempDir()
	var sh shadow.Shadow
	sh.Update([]byte(`{"state":{"reported":{"a":1}}}`), epoch, shadow.Limits{})
	sh.Update([]byte(`{"state":{"reported":{"a":2}}}`), epoch, shadow.Limits{})
	blob, _ := sh.MarshalBinary()
	path := stateFile(dir)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, encodeState([]record{{key: key{thing: "old"}, blob: blob}}), 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := newTestService(t, Config{DataDir: dir})
	if got := s.Recovered(); got.StateFile != path || got.Shadows != 1 {
		t.Fatalf("recovered %+v, want 1 shadow from %s", got, path)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("state file after New: %v, want it gone into the log", err)
	}
	// A crash right after New keeps it: it lives in a snapshot now.
	s2, rec := newTestService(t, Config{DataDir: copyDataDir(t, dir)})
	handle(t, s2, nil, shadowTopic("old", "", "update"), `{"state":{"reported":{"a":3}}}`)
	if d := decode(t, rec.wait(t, 1)[0]); d.int("version") != 3 {
		t.Fatalf("update after the move: %v, want version 3", d)
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

func FuzzDecodeShadowRecord(f *testing.F) {
	f.Add(appendShadowRecord(nil, key{thing: "t", name: "n"}, []byte("blob")))
	f.Add([]byte{0})
	f.Add([]byte{5, 'a'})
	f.Fuzz(func(t *testing.T, p []byte) {
		k, blob, err := decodeShadowRecord(p)
		if err != nil {
			return
		}
		k2, blob2, err := decodeShadowRecord(appendShadowRecord(nil, k, blob))
		if err != nil || k2 != k || string(blob2) != string(blob) {
			t.Fatalf("record %q decodes to %+v, %q, which re-decodes as %+v, %q, %v", p, k, blob, k2, blob2, err)
		}
	})
}
