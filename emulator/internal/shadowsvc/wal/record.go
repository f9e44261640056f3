package wal

import (
	"encoding/binary"
	"hash/crc32"
)

// headerSize is the size of a record's header: checksum, length, LSN and
// synced LSN.
const headerSize = 24

// MaxRecord bounds one record's payload; recovery treats a larger length
// as damage.
const MaxRecord = 16 << 20

// magicSize is the size of a file's leading magic.
const magicSize = 8

// File magics: the kind of file and its format version.
const (
	segmentMagic  = "SLWAL01\n"
	snapshotMagic = "SLSNP01\n"
)

// castagnoli is the CRC-32C table; CPUs with SSE 4.2 or ARMv8 CRC compute it
// in hardware.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendRecord appends one framed record to b; synced is the LSN below
// which the log was fsynced when the record was appended.
func appendRecord(b []byte, lsn, synced uint64, payload []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, headerSize)...)
	binary.BigEndian.PutUint32(b[start+4:], uint32(len(payload)))
	binary.BigEndian.PutUint64(b[start+8:], lsn)
	binary.BigEndian.PutUint64(b[start+16:], synced)
	b = append(b, payload...)
	binary.BigEndian.PutUint32(b[start:], crc32.Checksum(b[start+4:], castagnoli))
	return b
}

// frame is one decoded record.
type frame struct {
	lsn     uint64
	synced  uint64
	payload []byte
	size    int // header and payload
}

// frameStatus says why a frame could not be decoded.
type frameStatus int

const (
	frameOK frameStatus = iota
	frameShort
	frameTooLong
	frameChecksum
)

// String describes the status for error messages.
func (s frameStatus) String() string {
	switch s {
	case frameShort:
		return "record cut short"
	case frameTooLong:
		return "record length beyond the limit"
	case frameChecksum:
		return "record checksum mismatch"
	}
	return "ok"
}

// readFrame decodes the record at the start of b.
func readFrame(b []byte) (frame, frameStatus) {
	if len(b) < headerSize {
		return frame{}, frameShort
	}
	n := binary.BigEndian.Uint32(b[4:])
	if n > MaxRecord {
		return frame{}, frameTooLong
	}
	end := headerSize + int(n)
	if end > len(b) {
		return frame{}, frameShort
	}
	if crc32.Checksum(b[4:end], castagnoli) != binary.BigEndian.Uint32(b) {
		return frame{}, frameChecksum
	}
	return frame{lsn: binary.BigEndian.Uint64(b[8:]), synced: binary.BigEndian.Uint64(b[16:]), payload: b[headerSize:end], size: end}, frameOK
}

// syncedFrameAfter reports the offset of the first intact record in b that
// was appended after record lsn was fsynced. Such a record proves that a
// damaged record lsn before it had been acknowledged: the damage is not a
// torn write of the last, unsynced records, whose pages may reach the disk
// in any order.
func syncedFrameAfter(b []byte, lsn uint64) (int, bool) {
	for off := 0; off+headerSize <= len(b); off++ {
		if l := binary.BigEndian.Uint64(b[off+8:]); l <= lsn || l-lsn > uint64(len(b)) {
			continue
		}
		if fr, st := readFrame(b[off:]); st == frameOK && fr.synced > lsn {
			return off, true
		}
	}
	return 0, false
}

// allZero reports whether b holds only zero bytes: the preallocated,
// never written end of a segment.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
