package wal

import (
	"os"
	"testing"
)

// FuzzOpenSegment feeds arbitrary bytes to recovery as the only segment:
// Open either replays records in LSN order or fails, and never panics; a
// log it opens takes appends and reopens with them.
func FuzzOpenSegment(f *testing.F) {
	good := []byte(segmentMagic)
	for i := range uint64(3) {
		good = appendRecord(good, i+1, i+1, []byte("payload"))
	}
	f.Add(good)
	f.Add(append(append([]byte(nil), good...), make([]byte, 100)...))
	f.Add(good[:len(good)-3])
	f.Add([]byte(segmentMagic[:5]))
	f.Add([]byte("not a segment at all"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(segmentPath(dir, 1), b, 0o644); err != nil {
			t.Fatal(err)
		}
		var n int
		l, rec, err := Open(dir, Options{PreallocBytes: 4096}, func([]byte) error { n++; return nil })
		if err != nil {
			return
		}
		if rec.Records != n {
			t.Fatalf("recovery counts %d records, apply saw %d", rec.Records, n)
		}
		if err := l.Append([]byte("after")).Wait(); err != nil {
			t.Fatal(err)
		}
		l.Close()
		var again int
		l, _, err = Open(dir, Options{PreallocBytes: 4096}, func([]byte) error { again++; return nil })
		if err != nil {
			t.Fatalf("reopening a log that opened once: %v", err)
		}
		l.Close()
		if again != n+1 {
			t.Fatalf("reopened log replays %d records, want %d", again, n+1)
		}
	})
}
