package wal

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Mode says when a group of records counts as committed.
type Mode int

const (
	// SyncEveryCommit fsyncs every group before its tickets complete: a
	// completed ticket survives a crash of the machine.
	SyncEveryCommit Mode = iota
	// SyncPeriodically completes tickets once their group is written to
	// the operating system (it survives the process being killed) and
	// fsyncs at most Options.SyncInterval later (a machine crash loses at
	// most that interval).
	SyncPeriodically
)

// Defaults for Options fields left zero.
const (
	DefaultSyncInterval  = 100 * time.Millisecond
	DefaultSegmentBytes  = 64 << 20
	DefaultCompactBytes  = 16 << 20
	DefaultPreallocBytes = 1 << 20
)

// ErrClosed is the error of appends after Close.
var ErrClosed = errors.New("wal: log closed")

// Options configure a Log. The zero value fsyncs every commit.
type Options struct {
	Mode Mode
	// SyncInterval bounds the time between a write and its fsync in
	// SyncPeriodically mode; 0 means DefaultSyncInterval.
	SyncInterval time.Duration
	// SegmentBytes is the size after which the log starts a new segment;
	// 0 means DefaultSegmentBytes.
	SegmentBytes int64
	// CompactBytes is how many bytes may be logged since the last snapshot
	// (or the size of that snapshot, if larger) before Compact signals;
	// 0 means DefaultCompactBytes.
	CompactBytes int64
	// PreallocBytes is how far ahead of the writer a segment is
	// zero-filled and synced, a chunk at a time; 0 means
	// DefaultPreallocBytes.
	PreallocBytes int64
}

// group is the set of records written by one write (and fsync).
type group struct {
	done chan struct{}
	err  error
}

func newGroup() *group { return &group{done: make(chan struct{})} }

// Ticket is an appended record's claim on its commit.
type Ticket struct {
	g   *group
	err error
}

// Wait blocks until the record is committed and returns the commit's error.
func (t Ticket) Wait() error {
	if t.g == nil {
		return t.err
	}
	<-t.g.done
	return t.g.err
}

// Done reports, without blocking, whether the record is committed (or
// failed).
func (t Ticket) Done() bool {
	if t.g == nil {
		return true
	}
	select {
	case <-t.g.done:
		return true
	default:
		return false
	}
}

// Log is an open write-ahead log. Its methods are safe for concurrent use.
type Log struct {
	dir  string
	opts Options

	mu    sync.Mutex
	buf   []byte // framed records not yet handed to the writer
	spare []byte
	cur   *group
	next  uint64 // LSN of the next record
	err   error  // sticky write or sync failure
	done  bool   // closed to appends

	// synced is the LSN below which every record is fsynced; each record
	// carries its value at append time, so that recovery can tell a torn
	// unsynced tail from damage to records acknowledged before.
	synced atomic.Uint64
	// written is the LSN after the last record handed to the segment.
	written atomic.Uint64

	kick    chan struct{}
	rotates chan chan rotation
	stop    chan struct{}
	stopped chan struct{}
	extend  chan struct{}
	aux     sync.WaitGroup // the extender and, in SyncPeriodically mode, the syncer

	// fileMu guards swapping f (rotation, Close) and writes beyond the
	// zero-filled part of the segment, which the extender also writes.
	fileMu sync.Mutex
	f      *os.File
	seg    uint64
	closed bool // f is closed for good; guarded by fileMu
	// pos is the offset of the next write in the segment; only the writer
	// goroutine changes it, under fileMu when it writes past filled.
	pos atomic.Int64
	// filled is the end of the zero-filled, synced part of the segment:
	// writes below it change no file metadata, so their fdatasync needs no
	// journal commit and does not wait for other files' writes.
	filled atomic.Int64
	dirty  atomic.Bool

	logged  atomic.Int64 // bytes written since the last snapshot
	snapped atomic.Int64 // size of the last snapshot
	compact chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// rotation is the writer's answer to a rotation request.
type rotation struct {
	seg     uint64
	nextLSN uint64
	err     error
}

// Append adds payload (copied) to the pending group and returns the ticket
// to wait on. After Close, or after a write or sync failed, the ticket
// carries that error at once.
func (l *Log) Append(payload []byte) Ticket {
	l.mu.Lock()
	switch {
	case l.err != nil:
		err := l.err
		l.mu.Unlock()
		return Ticket{err: err}
	case l.done:
		l.mu.Unlock()
		return Ticket{err: ErrClosed}
	case len(payload) > MaxRecord:
		l.mu.Unlock()
		return Ticket{err: fmt.Errorf("wal: record of %d bytes exceeds %d", len(payload), MaxRecord)}
	}
	first := len(l.buf) == 0
	l.buf = appendRecord(l.buf, l.next, l.synced.Load(), payload)
	l.next++
	g := l.cur
	l.mu.Unlock()
	if first {
		poke(l.kick)
	}
	return Ticket{g: g}
}

// poke sends on a wake-up channel of capacity one without blocking.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Err returns the write or sync failure that stopped the log, or nil.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Compact returns a channel that receives when the log has grown enough
// since the last snapshot that a new one should be written.
func (l *Log) Compact() <-chan struct{} { return l.compact }

// Rotate flushes the pending group, closes the current segment and starts a
// new one. It returns the new segment's number and the LSN of its first
// record: a snapshot taken after Rotate returns covers every record before
// them.
func (l *Log) Rotate() (seg, nextLSN uint64, err error) {
	reply := make(chan rotation, 1)
	select {
	case l.rotates <- reply:
	case <-l.stopped:
		return 0, 0, ErrClosed
	}
	r := <-reply
	return r.seg, r.nextLSN, r.err
}

// Close commits the pending group, fsyncs and closes the segment. Appends
// afterwards fail with ErrClosed. It returns the first write or sync error
// the log met, if any.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
		close(l.stop)
		<-l.stopped
		l.aux.Wait()
		l.closeErr = l.Err()
	})
	return l.closeErr
}

// start launches the writer and its helpers.
func (l *Log) start() {
	l.aux.Add(1)
	go l.extendLoop()
	if l.opts.Mode == SyncPeriodically {
		l.aux.Add(1)
		go l.syncLoop()
	}
	go l.run()
}

// run is the writer goroutine: it writes each pending group and completes
// its tickets.
func (l *Log) run() {
	defer close(l.stopped)
	for {
		select {
		case <-l.kick:
			l.flush()
		case reply := <-l.rotates:
			reply <- l.rotate()
		case <-l.stop:
			l.write()
			l.fileMu.Lock()
			l.sync()
			if err := l.f.Close(); err != nil {
				l.fail(err)
			}
			l.closed = true
			l.fileMu.Unlock()
			return
		}
	}
}

// syncLoop fsyncs what was written, every SyncInterval, in
// SyncPeriodically mode; the writer goes on writing meanwhile.
func (l *Log) syncLoop() {
	defer l.aux.Done()
	t := time.NewTicker(l.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.fileMu.Lock()
			if !l.closed {
				l.sync()
			}
			l.fileMu.Unlock()
		case <-l.stop:
			return
		}
	}
}

// extendLoop zero-fills the segment ahead of the writer, a chunk at a time,
// and syncs each chunk, so that commits overwrite allocated blocks.
func (l *Log) extendLoop() {
	defer l.aux.Done()
	zeros := make([]byte, 64<<10)
	for {
		select {
		case <-l.extend:
		case <-l.stop:
			return
		}
		l.fileMu.Lock()
		if !l.closed && l.Err() == nil && l.filled.Load()-l.pos.Load() < l.opts.PreallocBytes/2 {
			if err := fill(l.f, max(l.filled.Load(), l.pos.Load()), l.opts.PreallocBytes, zeros); err != nil {
				l.fail(fmt.Errorf("wal: preallocate %s: %w", segmentPath(l.dir, l.seg), err))
			} else {
				l.filled.Store(max(l.filled.Load(), l.pos.Load()) + l.opts.PreallocBytes)
			}
		}
		l.fileMu.Unlock()
	}
}

// fill writes n zero bytes to f at off and syncs them.
func fill(f *os.File, off, n int64, zeros []byte) error {
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if _, err := f.WriteAt(zeros[:k], off); err != nil {
			return err
		}
		off, n = off+k, n-k
	}
	return syncData(f)
}

// flush writes the pending group and starts a new segment when the
// current one is full.
func (l *Log) flush() {
	if l.write() && l.pos.Load() >= l.opts.SegmentBytes {
		if r := l.rotate(); r.err != nil {
			l.fail(r.err)
		}
	}
}

// write writes the pending group and, in SyncEveryCommit mode, fsyncs it,
// then completes the group's tickets. It reports whether it wrote anything
// successfully.
func (l *Log) write() bool {
	l.mu.Lock()
	buf, g := l.buf, l.cur
	if len(buf) == 0 {
		l.mu.Unlock()
		return false
	}
	l.buf, l.spare, l.cur = l.spare[:0], nil, newGroup()
	upto := l.next
	failed := l.err
	l.mu.Unlock()

	err := failed
	if err == nil {
		pos := l.pos.Load()
		end := pos + int64(len(buf))
		if end > l.filled.Load() {
			// Past the zero-filled part, where the extender writes too.
			l.fileMu.Lock()
			_, err = l.f.WriteAt(buf, pos)
			l.pos.Store(end)
			l.fileMu.Unlock()
		} else {
			_, err = l.f.WriteAt(buf, pos)
			l.pos.Store(end)
		}
		if l.filled.Load()-end < l.opts.PreallocBytes/2 {
			poke(l.extend)
		}
		l.dirty.Store(true)
		l.written.Store(upto)
		if err == nil && l.opts.Mode == SyncEveryCommit {
			err = l.syncFile()
		}
	}
	if err != nil {
		l.fail(fmt.Errorf("wal: write %s: %w", segmentPath(l.dir, l.seg), err))
		err = l.Err()
	}
	if err == nil {
		l.grew(int64(len(buf)))
	}
	g.err = err
	close(g.done)

	l.mu.Lock()
	if cap(buf) <= 4<<20 {
		l.spare = buf[:0]
	}
	l.mu.Unlock()
	return err == nil
}

// grew counts n more logged bytes and signals Compact past the threshold.
func (l *Log) grew(n int64) {
	if l.logged.Add(n) >= max(l.opts.CompactBytes, l.snapped.Load()) {
		poke(l.compact)
	}
}

// sync fsyncs the segment if anything was written since the last fsync.
// The caller is the writer or holds fileMu.
func (l *Log) sync() {
	if !l.dirty.Load() || l.Err() != nil {
		return
	}
	if err := l.syncFile(); err != nil {
		l.fail(fmt.Errorf("wal: sync %s: %w", segmentPath(l.dir, l.seg), err))
	}
}

// syncFile fsyncs the segment's data and advances synced.
func (l *Log) syncFile() error {
	upto := l.written.Load()
	l.dirty.Store(false)
	err := syncData(l.f)
	if err != nil {
		l.dirty.Store(true)
		return err
	}
	if upto > l.synced.Load() {
		l.synced.Store(upto)
	}
	return nil
}

// fail records the log's first failure; later appends carry it.
func (l *Log) fail(err error) {
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
}

// rotate writes the pending group, closes the segment after an fsync and
// opens the next one.
func (l *Log) rotate() rotation {
	l.write()
	f, filled, err := createSegment(l.dir, l.seg+1, l.opts.PreallocBytes)
	if err != nil {
		l.fail(err)
		return rotation{err: err}
	}
	l.fileMu.Lock()
	l.sync()
	if err := l.Err(); err != nil {
		l.fileMu.Unlock()
		f.Close()
		return rotation{err: err}
	}
	_ = l.f.Close()
	l.f, l.seg = f, l.seg+1
	l.pos.Store(magicSize)
	l.filled.Store(filled)
	l.fileMu.Unlock()
	return rotation{seg: l.seg, nextLSN: l.written.Load()}
}
