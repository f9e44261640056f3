package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// trailerTag opens a snapshot's trailer payload.
const trailerTag = "end"

// WriteSnapshot writes snapshot seg, holding the records that emit passes to
// add, so that recovery starts from it and replays segments seg and later
// only. seg and nextLSN are what Rotate returned before the records were
// gathered. Once the snapshot is durable, older snapshots and segments are
// removed.
func (l *Log) WriteSnapshot(seg, nextLSN uint64, emit func(add func(payload []byte) error) error) error {
	size, err := writeSnapshot(l.dir, seg, nextLSN, emit)
	if err != nil {
		return err
	}
	l.snapped.Store(size)
	l.logged.Store(0)
	return removeBefore(l.dir, seg)
}

// writeSnapshot writes the snapshot file through a synced temporary file
// and a rename, and returns its size.
func writeSnapshot(dir string, seg, nextLSN uint64, emit func(add func(payload []byte) error) error) (int64, error) {
	path := snapshotPath(dir, seg)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*"+tempSuffix)
	if err != nil {
		return 0, fmt.Errorf("wal: snapshot: %w", err)
	}
	tmp := f.Name()
	w := bufio.NewWriterSize(f, 1<<20)
	var (
		frame []byte
		count uint64
		size  int64
	)
	put := func(lsn uint64, payload []byte) error {
		frame = appendRecord(frame[:0], lsn, 0, payload)
		size += int64(len(frame))
		_, err := w.Write(frame)
		return err
	}
	_, err = w.WriteString(snapshotMagic)
	size += magicSize
	if err == nil {
		err = emit(func(payload []byte) error {
			if len(payload) > MaxRecord {
				return fmt.Errorf("record of %d bytes exceeds %d", len(payload), MaxRecord)
			}
			count++
			return put(count, payload)
		})
	}
	if err == nil {
		trailer := append([]byte(trailerTag), 0)
		trailer = binary.AppendUvarint(trailer, count)
		trailer = binary.AppendUvarint(trailer, nextLSN)
		trailer = binary.AppendUvarint(trailer, seg)
		err = put(0, trailer)
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("wal: write %s: %w", path, err)
	}
	return size, nil
}

// removeBefore removes the snapshots and segments that snapshot seg makes
// unnecessary.
func removeBefore(dir string, seg uint64) error {
	ls, err := list(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range ls.snapshots {
		if n < seg {
			errs = append(errs, os.Remove(snapshotPath(dir, n)))
		}
	}
	for _, n := range ls.segments {
		if n < seg {
			errs = append(errs, os.Remove(segmentPath(dir, n)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("wal: remove compacted files: %w", err)
	}
	return syncDir(dir)
}

// readSnapshot replays snapshot file n through apply and returns the LSN
// and segment the log continues from, and the record count.
func readSnapshot(dir string, n uint64, apply func([]byte) error) (nextLSN uint64, count int, err error) {
	path := snapshotPath(dir, n)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("wal: read snapshot: %w", err)
	}
	if len(b) < magicSize || string(b[:magicSize]) != snapshotMagic {
		return 0, 0, fmt.Errorf("wal: %s: offset 0: want the snapshot magic %q", path, snapshotMagic)
	}
	off := magicSize
	for {
		fr, st := readFrame(b[off:])
		if st != frameOK {
			return 0, 0, fmt.Errorf("wal: %s: offset %d: %v in a snapshot (snapshots are written whole, so the file is damaged)", path, off, st)
		}
		if fr.lsn == 0 {
			var seg, recs uint64
			nextLSN, recs, seg, err = parseTrailer(fr.payload)
			if err == nil && recs != uint64(count) {
				err = fmt.Errorf("trailer counts %d records, the file holds %d", recs, count)
			}
			if err == nil && seg != n {
				err = fmt.Errorf("trailer names segment %d, the file name %d", seg, n)
			}
			if err == nil && off+fr.size != len(b) {
				err = fmt.Errorf("%d bytes after the trailer", len(b)-off-fr.size)
			}
			if err != nil {
				return 0, 0, fmt.Errorf("wal: %s: offset %d: %w", path, off, err)
			}
			return nextLSN, count, nil
		}
		if fr.lsn != uint64(count)+1 {
			return 0, 0, fmt.Errorf("wal: %s: offset %d: record number %d, want %d", path, off, fr.lsn, count+1)
		}
		if err := apply(fr.payload); err != nil {
			return 0, 0, fmt.Errorf("wal: %s: offset %d: %w", path, off, err)
		}
		count++
		off += fr.size
	}
}

// parseTrailer decodes a snapshot trailer's payload.
func parseTrailer(p []byte) (nextLSN, count, seg uint64, err error) {
	if len(p) < len(trailerTag)+1 || string(p[:len(trailerTag)]) != trailerTag || p[len(trailerTag)] != 0 {
		return 0, 0, 0, errors.New("want the snapshot trailer")
	}
	p = p[len(trailerTag)+1:]
	var vals [3]uint64
	for i := range vals {
		v, k := binary.Uvarint(p)
		if k <= 0 {
			return 0, 0, 0, errors.New("snapshot trailer: bad varint")
		}
		vals[i], p = v, p[k:]
	}
	if len(p) != 0 {
		return 0, 0, 0, errors.New("snapshot trailer: trailing bytes")
	}
	return vals[1], vals[0], vals[2], nil
}
