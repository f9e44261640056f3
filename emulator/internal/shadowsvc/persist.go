package shadowsvc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/shadowload/shadowload/emulator/internal/shadowsvc/wal"
)

// Recovery is what New found in the data directory.
type Recovery struct {
	wal.Recovery
	// Durability is the setting the service runs with.
	Durability Durability
	// Shadows counts the shadows restored, Deleted those among them that
	// are deleted and kept only for their version.
	Shadows, Deleted int
	// StateFile is the single-file state that was read because the log was
	// empty, "" when none.
	StateFile string
}

// String describes the recovery in one line for a startup banner.
func (r Recovery) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d shadows (%d deleted, versions kept)", r.Shadows, r.Deleted)
	switch {
	case r.StateFile != "":
		fmt.Fprintf(&b, " from %s", r.StateFile)
	case r.Snapshot != "":
		fmt.Fprintf(&b, " from a snapshot of %d records", r.SnapshotRecords)
	}
	if r.Records > 0 {
		fmt.Fprintf(&b, ", %d log records replayed from %d segments (%d bytes)", r.Records, r.Segments, r.Bytes)
	}
	if r.Torn != "" {
		fmt.Fprintf(&b, ", torn tail of %d bytes cut from %s at offset %d", r.TornBytes, r.Torn, r.TornOffset)
	}
	fmt.Fprintf(&b, " in %v", r.Took.Round(time.Millisecond))
	return b.String()
}

// open recovers the shadows under dataDir into the store and opens the log
// that keeps them.
func (s *Service) open(dataDir string, opts wal.Options) error {
	start := time.Now()
	opts.Mode = wal.SyncEveryCommit
	if s.durability == DurabilityAsync {
		opts.Mode = wal.SyncPeriodically
	}
	log, rec, err := wal.Open(shadowDir(dataDir), opts, s.restore)
	if err != nil {
		return fmt.Errorf("shadowsvc: recover shadows: %w", err)
	}
	s.log = log
	s.recovery = Recovery{Recovery: rec, Durability: s.durability}
	if rec.Snapshot == "" && rec.Segments == 0 {
		if err := s.loadStateFile(dataDir); err != nil {
			log.Close()
			return err
		}
	}
	s.store.each(func(e *entry) {
		s.recovery.Shadows++
		if !e.sh.Exists() {
			s.recovery.Deleted++
		}
	})
	s.recovery.Took = time.Since(start)
	return nil
}

// restore applies one log or snapshot record: the shadow's state replaces
// what the store holds.
func (s *Service) restore(p []byte) error {
	k, blob, err := decodeShadowRecord(p)
	if err != nil {
		return err
	}
	e := s.store.get(k)
	if err := e.sh.UnmarshalBinary(blob); err != nil {
		return fmt.Errorf("shadow %q of thing %q: %w", k.name, k.thing, err)
	}
	return nil
}

// loadStateFile reads the single-file state, if there is one, and moves it
// into a snapshot of the log.
func (s *Service) loadStateFile(dataDir string) error {
	path := stateFile(dataDir)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("shadowsvc: load shadows: %w", err)
	}
	recs, err := decodeState(b)
	if err != nil {
		return fmt.Errorf("shadowsvc: load shadows from %s: %w", path, err)
	}
	for _, r := range recs {
		e := s.store.get(r.key)
		if err := e.sh.UnmarshalBinary(r.blob); err != nil {
			return fmt.Errorf("shadowsvc: load shadows from %s: shadow %q of thing %q: %w", path, r.key.name, r.key.thing, err)
		}
	}
	if err := s.snapshot(); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("shadowsvc: remove %s after moving it into the log: %w", path, err)
	}
	s.recovery.StateFile = path
	return nil
}

// snapshot writes every shadow that exists or keeps a version to a new
// snapshot, after which the log's older segments go. Each shadow is read
// under its lock, one at a time; requests proceed meanwhile, and their
// records land in segments the snapshot does not replace.
func (s *Service) snapshot() error {
	seg, next, err := s.log.Rotate()
	if err != nil {
		return fmt.Errorf("shadowsvc: snapshot: %w", err)
	}
	var buf []byte
	err = s.log.WriteSnapshot(seg, next, func(add func([]byte) error) error {
		var err error
		s.store.each(func(e *entry) {
			if err != nil {
				return
			}
			e.mu.Lock()
			if e.sh.Version() == 0 && !e.sh.Exists() {
				e.mu.Unlock()
				return
			}
			blob, merr := e.sh.MarshalBinary()
			e.mu.Unlock()
			if merr != nil {
				err = fmt.Errorf("shadow %q of thing %q: %w", e.key.name, e.key.thing, merr)
				return
			}
			buf = appendShadowRecord(buf[:0], e.key, blob)
			err = add(buf)
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("shadowsvc: snapshot: %w", err)
	}
	return nil
}

// compactLoop writes a snapshot whenever the log has grown enough since
// the last one, so that restart time follows the number of shadows rather
// than the length of their history.
func (s *Service) compactLoop() {
	defer close(s.compactDone)
	for {
		select {
		case <-s.compactStop:
			return
		case <-s.log.Compact():
			if err := s.snapshot(); err != nil {
				s.setErr(err)
			}
		}
	}
}
