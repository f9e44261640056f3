package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// File name parts.
const (
	segmentPrefix  = "wal-"
	segmentSuffix  = ".log"
	snapshotPrefix = "snap-"
	snapshotSuffix = ".bin"
	tempSuffix     = ".tmp"
)

func segmentPath(dir string, n uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%s%016x%s", segmentPrefix, n, segmentSuffix))
}

func snapshotPath(dir string, n uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%s%016x%s", snapshotPrefix, n, snapshotSuffix))
}

// listing is what a log directory holds.
type listing struct {
	segments  []uint64 // ascending
	snapshots []uint64 // ascending
	temps     []string
}

// list reads dir; names it does not know are left alone.
func list(dir string) (listing, error) {
	var ls listing
	ents, err := os.ReadDir(dir)
	if err != nil {
		return ls, fmt.Errorf("wal: read directory: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, tempSuffix):
			ls.temps = append(ls.temps, filepath.Join(dir, name))
		case strings.HasPrefix(name, segmentPrefix) && strings.HasSuffix(name, segmentSuffix):
			if n, ok := parseNumber(name, segmentPrefix, segmentSuffix); ok {
				ls.segments = append(ls.segments, n)
			}
		case strings.HasPrefix(name, snapshotPrefix) && strings.HasSuffix(name, snapshotSuffix):
			if n, ok := parseNumber(name, snapshotPrefix, snapshotSuffix); ok {
				ls.snapshots = append(ls.snapshots, n)
			}
		}
	}
	slices.Sort(ls.segments)
	slices.Sort(ls.snapshots)
	return ls, nil
}

func parseNumber(name, prefix, suffix string) (uint64, bool) {
	hex := strings.TrimSuffix(strings.TrimPrefix(name, prefix), suffix)
	if len(hex) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(hex, 16, 64)
	return n, err == nil
}

// createSegment creates segment n: its magic and prealloc zero bytes,
// synced along with the directory entry. It returns the file and the end of
// its zero-filled part.
func createSegment(dir string, n uint64, prealloc int64) (*os.File, int64, error) {
	path := segmentPath(dir, n)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("wal: create segment: %w", err)
	}
	if _, err = f.WriteString(segmentMagic); err == nil {
		err = fill(f, magicSize, prealloc, make([]byte, 64<<10))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("wal: create %s: %w", path, err)
	}
	return f, magicSize + prealloc, nil
}

// syncPath fsyncs the file at path.
func syncPath(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = syncData(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir fsyncs a directory so that created, renamed and removed entries
// persist.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
