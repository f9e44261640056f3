package wal

import (
	"encoding/binary"
	"hash/crc32"
)

// headerSize is the size of a record's header: checksum, length and LSN.
const headerSize = 16

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

// appendRecord appends one framed record to b.
func appendRecord(b []byte, lsn uint64, payload []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, headerSize)...)
	binary.BigEndian.PutUint32(b[start+4:], uint32(len(payload)))
	binary.BigEndian.PutUint64(b[start+8:], lsn)
	b = append(b, payload...)
	binary.BigEndian.PutUint32(b[start:], crc32.Checksum(b[start+4:], castagnoli))
	return b
}

// frame is one decoded record.
type frame struct {
	lsn     uint64
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
	return frame{lsn: binary.BigEndian.Uint64(b[8:]), payload: b[headerSize:end], size: end}, frameOK
}

// validFrameAfter reports the offset of the first intact record in b whose
// LSN is above lsn, if any: intact records after a damaged one mean the
// damage is not a torn tail.
func validFrameAfter(b []byte, lsn uint64) (int, bool) {
	for off := 0; off+headerSize <= len(b); off++ {
		if l := binary.BigEndian.Uint64(b[off+8:]); l <= lsn || l-lsn > uint64(len(b)) {
			continue
		}
		if _, st := readFrame(b[off:]); st == frameOK {
			return off, true
		}
	}
	return 0, false
}
