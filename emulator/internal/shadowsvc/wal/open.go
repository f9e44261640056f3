package wal

import (
	"fmt"
	"os"
	"time"
)

// Recovery describes what Open found and replayed.
type Recovery struct {
	// Snapshot is the snapshot replayed, "" when there was none, and
	// SnapshotRecords the records it held.
	Snapshot        string
	SnapshotRecords int
	// Segments and Records count the log segments and records replayed
	// after the snapshot; Bytes is their size.
	Segments int
	Records  int
	Bytes    int64
	// Torn is the segment whose torn tail was cut off, "" when none;
	// TornOffset is where it was cut and TornBytes how much went.
	Torn       string
	TornOffset int64
	TornBytes  int64
	// Took is how long recovery took.
	Took time.Duration
}

// Open recovers the log in dir, creating dir if needed: apply receives the
// payload of every record of the newest snapshot and of every later
// segment, in order (the slice is only valid during the call). A torn tail
// of the last segment is truncated; any other damage is an error naming the
// file and offset. The returned log appends to a new segment.
func Open(dir string, opts Options, apply func(payload []byte) error) (*Log, Recovery, error) {
	start := time.Now()
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = DefaultSyncInterval
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.CompactBytes <= 0 {
		opts.CompactBytes = DefaultCompactBytes
	}
	if opts.PreallocBytes <= 0 {
		opts.PreallocBytes = DefaultPreallocBytes
	}
	var rec Recovery
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, rec, fmt.Errorf("wal: create directory: %w", err)
	}
	ls, err := list(dir)
	if err != nil {
		return nil, rec, err
	}
	for _, t := range ls.temps {
		// An unfinished snapshot: the rename never happened.
		if err := os.Remove(t); err != nil {
			return nil, rec, fmt.Errorf("wal: remove unfinished snapshot: %w", err)
		}
	}

	next, first := uint64(1), uint64(1)
	var snapSize int64
	if k := len(ls.snapshots); k > 0 {
		n := ls.snapshots[k-1]
		next, rec.SnapshotRecords, err = readSnapshot(dir, n, apply)
		if err != nil {
			return nil, rec, err
		}
		rec.Snapshot = snapshotPath(dir, n)
		if fi, err := os.Stat(rec.Snapshot); err == nil {
			snapSize = fi.Size()
		}
		first = n
		// Files the snapshot made unnecessary, left by a crash before
		// their removal.
		if err := removeBefore(dir, n); err != nil {
			return nil, rec, err
		}
	}
	var segs []uint64
	for _, n := range ls.segments {
		if n >= first {
			segs = append(segs, n)
		}
	}
	if len(segs) > 0 && rec.Snapshot == "" {
		first = segs[0]
	}
	for i, n := range segs {
		if want := first + uint64(i); n != want {
			return nil, rec, fmt.Errorf("wal: %s: segment %s is missing", dir, segmentPath(dir, want))
		}
		last := i == len(segs)-1
		if next, err = replaySegment(dir, n, next, last, apply, &rec); err != nil {
			return nil, rec, err
		}
		rec.Segments++
	}

	seg := first
	if len(segs) > 0 {
		seg = segs[len(segs)-1] + 1
		// What was replayed is durable before anything is appended after it.
		if err := syncPath(segmentPath(dir, segs[len(segs)-1])); err != nil {
			return nil, rec, fmt.Errorf("wal: sync recovered segment: %w", err)
		}
	}
	f, filled, err := createSegment(dir, seg, opts.PreallocBytes)
	if err != nil {
		return nil, rec, err
	}
	l := &Log{
		dir:     dir,
		opts:    opts,
		cur:     newGroup(),
		next:    next,
		kick:    make(chan struct{}, 1),
		rotates: make(chan chan rotation),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
		extend:  make(chan struct{}, 1),
		compact: make(chan struct{}, 1),
		f:       f,
		seg:     seg,
	}
	l.synced.Store(next)
	l.written.Store(next)
	l.pos.Store(magicSize)
	l.filled.Store(filled)
	l.snapped.Store(snapSize)
	l.grew(rec.Bytes)
	l.start()
	rec.Took = time.Since(start)
	return l, rec, nil
}

// replaySegment applies segment n's records, which must start at LSN next,
// and returns the LSN after its last record. Only the last segment may end
// in a torn record, which it truncates.
func replaySegment(dir string, n, next uint64, last bool, apply func([]byte) error, rec *Recovery) (uint64, error) {
	path := segmentPath(dir, n)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("wal: read segment: %w", err)
	}
	if len(b) < magicSize || string(b[:magicSize]) != segmentMagic {
		if last && len(b) < magicSize && string(b) == segmentMagic[:len(b)] {
			// Created but its magic never fully written: nothing in it.
			// Completing the magic keeps it a valid, empty segment.
			rec.Torn, rec.TornOffset, rec.TornBytes = path, 0, int64(len(b))
			return next, rewriteMagic(path)
		}
		return 0, fmt.Errorf("wal: %s: offset 0: want the segment magic %q", path, segmentMagic)
	}
	off := magicSize
	for off < len(b) {
		fr, st := readFrame(b[off:])
		if st != frameOK {
			if allZero(b[off:]) {
				// The preallocated part never written: the segment's end.
				break
			}
			if !last {
				return 0, fmt.Errorf("wal: %s: offset %d: %v in a segment that later ones follow: the log is damaged", path, off, st)
			}
			if at, ok := syncedFrameAfter(b[off+1:], next); ok {
				return 0, fmt.Errorf("wal: %s: offset %d: %v, with a record written after it was synced at offset %d: the log is damaged, not torn", path, off, st, off+1+at)
			}
			rec.Torn, rec.TornOffset, rec.TornBytes = path, int64(off), int64(len(b)-off)
			return next, truncate(path, int64(off))
		}
		if fr.lsn != next {
			return 0, fmt.Errorf("wal: %s: offset %d: record LSN %d, want %d: the log is damaged", path, off, fr.lsn, next)
		}
		if err := apply(fr.payload); err != nil {
			return 0, fmt.Errorf("wal: %s: offset %d: %w", path, off, err)
		}
		next++
		off += fr.size
		rec.Records++
		rec.Bytes += int64(fr.size)
	}
	return next, nil
}

// rewriteMagic makes path hold just the segment magic, synced.
func rewriteMagic(path string) error {
	if err := os.WriteFile(path, []byte(segmentMagic), 0o644); err != nil {
		return fmt.Errorf("wal: complete the magic of %s: %w", path, err)
	}
	return syncPath(path)
}

// truncate cuts path to size and syncs it.
func truncate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("wal: truncate torn tail: %w", err)
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("wal: truncate torn tail of %s: %w", path, err)
	}
	return nil
}
