package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// collect opens the log in dir and returns it with every payload replayed.
func collect(t *testing.T, dir string, opts Options) (*Log, []string, Recovery) {
	t.Helper()
	var got []string
	l, rec, err := Open(dir, opts, func(p []byte) error {
		got = append(got, string(p))
		return nil
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l, got, rec
}

// appendAll appends payloads and waits for each commit.
func appendAll(t *testing.T, l *Log, payloads ...string) {
	t.Helper()
	for _, p := range payloads {
		if err := l.Append([]byte(p)).Wait(); err != nil {
			t.Fatalf("Append(%q): %v", p, err)
		}
	}
}

func payloads(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}

func TestCommittedRecordsReplayInOrder(t *testing.T) {
	for _, mode := range []Mode{SyncEveryCommit, SyncPeriodically} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			dir := t.TempDir()
			l, got, _ := collect(t, dir, Options{Mode: mode})
			if len(got) != 0 {
				t.Fatalf("fresh log replayed %q", got)
			}
			want := payloads("a", 50)
			appendAll(t, l, want...)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l2, got, rec := collect(t, dir, Options{Mode: mode})
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("replayed %q, want %q", got, want)
			}
			if rec.Records != 50 || rec.Torn != "" {
				t.Fatalf("recovery %+v, want 50 records and no torn tail", rec)
			}
			appendAll(t, l2, "after")
			l2.Close()
			_, got, _ = collect(t, dir, Options{})
			if got[len(got)-1] != "after" || len(got) != 51 {
				t.Fatalf("after a restart the log replays %d records ending %q", len(got), got[len(got)-1])
			}
		})
	}
}

func TestConcurrentAppendsAllCommitAndShareFsyncs(t *testing.T) {
	dir := t.TempDir()
	l, _, _ := collect(t, dir, Options{})
	const writers, each = 16, 40
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := l.Append(fmt.Appendf(nil, "w%d-%d", w, i)).Wait(); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	l.Close()
	_, got, _ := collect(t, dir, Options{})
	if len(got) != writers*each {
		t.Fatalf("replayed %d records, want %d", len(got), writers*each)
	}
	// Each writer's records keep their order.
	last := map[string]int{}
	for _, p := range got {
		var w, i int
		fmt.Sscanf(p, "w%d-%d", &w, &i)
		k := fmt.Sprint(w)
		if prev, ok := last[k]; ok && i != prev+1 {
			t.Fatalf("writer %d: record %d after %d", w, i, prev)
		}
		last[k] = i
	}
}

func TestRotationAndSnapshotReplaySnapshotThenLaterSegments(t *testing.T) {
	dir := t.TempDir()
	l, _, _ := collect(t, dir, Options{SegmentBytes: 200, PreallocBytes: 512})
	appendAll(t, l, payloads("old", 30)...)
	seg, next, err := l.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, l, payloads("new", 5)...)
	err = l.WriteSnapshot(seg, next, func(add func([]byte) error) error {
		return add([]byte("state"))
	})
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, l, payloads("late", 5)...)
	l.Close()
	ls, _ := list(dir)
	if len(ls.snapshots) != 1 || ls.segments[0] != seg {
		t.Fatalf("files after the snapshot: %+v, want one snapshot and segments from %d", ls, seg)
	}
	_, got, rec := collect(t, dir, Options{})
	want := append(append([]string{"state"}, payloads("new", 5)...), payloads("late", 5)...)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("replayed %q, want %q", got, want)
	}
	if rec.SnapshotRecords != 1 || rec.Records != 10 {
		t.Fatalf("recovery %+v", rec)
	}
}

// lastSegment returns the path of the newest segment holding records.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	ls, err := list(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(ls.segments) - 1; i >= 0; i-- {
		p := segmentPath(dir, ls.segments[i])
		if b, err := os.ReadFile(p); err == nil && recordsEnd(b) > magicSize {
			return p
		}
	}
	t.Fatal("no segment with records")
	return ""
}

// recordsEnd returns the offset just past the records of a segment whose
// tail is preallocated zeros.
func recordsEnd(b []byte) int {
	off := magicSize
	for {
		fr, st := readFrame(b[off:])
		if st != frameOK {
			return off
		}
		off += fr.size
	}
}

func TestTornTailIsTruncatedAndReported(t *testing.T) {
	base := t.TempDir()
	l, _, _ := collect(t, base, Options{})
	appendAll(t, l, payloads("r", 10)...)
	l.Close()
	path := lastSegment(t, base)
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	end := recordsEnd(full)
	lastLen := headerSize + len("r-009")
	lastAt := end - lastLen
	// Every cut inside the last record, with and without the zeros after
	// it, and damage to it in place.
	tails := map[string][]byte{}
	for cut := 1; cut < lastLen; cut += 3 {
		tails[fmt.Sprintf("cut %d", cut)] = full[:end-cut]
		zeroed := append([]byte(nil), full...)
		clear(zeroed[end-cut : end])
		tails[fmt.Sprintf("last %d bytes never written", cut)] = zeroed
	}
	flippedLast := append([]byte(nil), full...)
	flippedLast[end-2] ^= 0x40
	tails["flipped byte in the last record"] = flippedLast
	for name, b := range tails {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, base, dir)
			p := filepath.Join(dir, filepath.Base(path))
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			l, got, rec := collect(t, dir, Options{})
			if len(got) != 9 || got[8] != "r-008" {
				t.Fatalf("replayed %q, want the 9 intact records", got)
			}
			if rec.Torn != p || rec.TornOffset != int64(lastAt) || rec.TornBytes != int64(len(b)-lastAt) {
				t.Fatalf("recovery %+v, want the tail of %s cut at %d", rec, p, lastAt)
			}
			appendAll(t, l, "next")
			l.Close()
			_, got, rec = collect(t, dir, Options{})
			if len(got) != 10 || got[9] != "next" || rec.Torn != "" {
				t.Fatalf("after truncation and an append: %q, %+v", got, rec)
			}
		})
	}
}

// writeSegment writes segment n of dir holding records with the given LSNs
// and synced LSNs, payload "p<lsn>".
func writeSegment(t *testing.T, dir string, n uint64, lsns, synced []uint64) []byte {
	t.Helper()
	b := []byte(segmentMagic)
	for i, lsn := range lsns {
		b = appendRecord(b, lsn, synced[i], fmt.Appendf(nil, "p%d", lsn))
	}
	if err := os.WriteFile(segmentPath(dir, n), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDamageIsTornOnlyWithoutARecordWrittenAfterItsSync(t *testing.T) {
	// Records 1-5 each synced before the next was appended; 6, 7 and 8
	// appended in one group that was never synced, whose pages may reach
	// the disk in any order.
	lsns := []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	synced := []uint64{1, 2, 3, 4, 5, 6, 6, 6}
	recAt := func(b []byte, i int) int {
		off := magicSize
		for range i {
			fr, _ := readFrame(b[off:])
			off += fr.size
		}
		return off
	}
	t.Run("damage inside the unsynced group", func(t *testing.T) {
		dir := t.TempDir()
		b := writeSegment(t, dir, 1, lsns, synced)
		at := recAt(b, 5)
		b[at+headerSize] ^= 1
		os.WriteFile(segmentPath(dir, 1), b, 0o644)
		_, got, rec := collect(t, dir, Options{})
		if len(got) != 5 || rec.TornOffset != int64(at) {
			t.Fatalf("replayed %q, recovery %+v: want records 1-5 and the group cut at %d", got, rec, at)
		}
	})
	t.Run("damage to a synced record", func(t *testing.T) {
		dir := t.TempDir()
		b := writeSegment(t, dir, 1, lsns, synced)
		at := recAt(b, 4)
		b[at+headerSize] ^= 1
		os.WriteFile(segmentPath(dir, 1), b, 0o644)
		_, _, err := Open(dir, Options{}, func([]byte) error { return nil })
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", at)) || !strings.Contains(err.Error(), "not torn") {
			t.Fatalf("Open: %v, want damage reported at offset %d", err, at)
		}
	})
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDamageBeforeTheTailIsAnErrorNamingFileAndOffset(t *testing.T) {
	base := t.TempDir()
	l, _, _ := collect(t, base, Options{})
	appendAll(t, l, payloads("a", 10)...)
	seg, next, err := l.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, l, payloads("b", 10)...)
	l.Close()
	first := segmentPath(base, seg-1)
	second := segmentPath(base, seg)
	rec3 := int64(magicSize + 3*(headerSize+len("a-000")))
	tests := []struct {
		name   string
		file   string
		offset int64
		damage func(b []byte) []byte
		want   string
	}{
		{"flipped byte mid last segment", second, rec3, func(b []byte) []byte { b[rec3+headerSize+1] ^= 1; return b }, "not torn"},
		{"flipped byte in an older segment", first, rec3, func(b []byte) []byte { b[rec3+headerSize+1] ^= 1; return b }, "later ones follow"},
		{"older segment cut short", first, rec3, func(b []byte) []byte { return b[:rec3+5] }, "later ones follow"},
		{"wrong magic", second, 0, func(b []byte) []byte { b[0] = 'X'; return b }, "magic"},
		{"flipped length field mid last segment", second, rec3, func(b []byte) []byte { b[rec3+5] ^= 0x10; return b }, "not torn"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, base, dir)
			p := filepath.Join(dir, filepath.Base(tc.file))
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, tc.damage(b), 0o644); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(p)
			_, _, err := Open(dir, Options{}, func([]byte) error { return nil })
			if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", tc.offset)) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v, want an error naming %s, offset %d and %q", err, p, tc.offset, tc.want)
			}
			after, _ := os.ReadFile(p)
			if string(after) != string(before) {
				t.Fatal("Open changed the damaged file")
			}
		})
	}
	t.Run("damaged snapshot", func(t *testing.T) {
		dir := t.TempDir()
		copyDir(t, base, dir)
		l, _, _ := collect(t, dir, Options{})
		if err := l.WriteSnapshot(seg, next, func(add func([]byte) error) error { return add([]byte("s")) }); err != nil {
			t.Fatal(err)
		}
		l.Close()
		p := snapshotPath(dir, seg)
		b, _ := os.ReadFile(p)
		b[magicSize+headerSize] ^= 1
		os.WriteFile(p, b, 0o644)
		_, _, err := Open(dir, Options{}, func([]byte) error { return nil })
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", magicSize)) {
			t.Fatalf("Open: %v, want an error naming %s at offset %d", err, p, magicSize)
		}
	})
	t.Run("missing segment", func(t *testing.T) {
		dir := t.TempDir()
		copyDir(t, base, dir)
		os.Remove(filepath.Join(dir, filepath.Base(first)))
		os.WriteFile(filepath.Join(dir, filepath.Base(segmentPath(base, seg-2))), []byte(segmentMagic), 0o644)
		_, _, err := Open(dir, Options{}, func([]byte) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "missing") {
			t.Fatalf("Open with a segment missing: %v", err)
		}
	})
}

func TestApplyErrorsNameTheRecord(t *testing.T) {
	dir := t.TempDir()
	l, _, _ := collect(t, dir, Options{})
	appendAll(t, l, "good", "bad")
	l.Close()
	_, _, err := Open(dir, Options{}, func(p []byte) error {
		if string(p) == "bad" {
			return fmt.Errorf("cannot apply")
		}
		return nil
	})
	want := fmt.Sprintf("offset %d: cannot apply", magicSize+headerSize+len("good"))
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open: %v, want %q", err, want)
	}
}

func TestAppendAfterCloseFails(t *testing.T) {
	l, _, _ := collect(t, t.TempDir(), Options{})
	l.Close()
	if err := l.Append([]byte("x")).Wait(); err != ErrClosed {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
	if _, _, err := l.Rotate(); err != ErrClosed {
		t.Fatalf("Rotate after Close: %v, want ErrClosed", err)
	}
}

func TestCompactSignalsAfterEnoughBytes(t *testing.T) {
	l, _, _ := collect(t, t.TempDir(), Options{CompactBytes: 1000})
	select {
	case <-l.Compact():
		t.Fatal("Compact signalled on an empty log")
	default:
	}
	appendAll(t, l, payloads(strings.Repeat("x", 100), 10)...)
	select {
	case <-l.Compact():
	default:
		t.Fatal("Compact did not signal after 1000 bytes")
	}
}
