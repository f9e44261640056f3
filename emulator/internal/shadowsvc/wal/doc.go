// Package wal is the shadow service's write-ahead log: checksummed records
// appended to numbered segment files with group commit, and snapshots that
// let old segments go.
//
// # Files
//
// A log lives in one directory. Segments are named wal-NNNNNNNNNNNNNNNN.log
// (16 hexadecimal digits, rising); snapshots snap-NNNNNNNNNNNNNNNN.bin, where
// NNNN is the first segment the snapshot does not cover. Every file starts
// with an 8-byte magic naming its kind and format, followed by records:
//
//	crc32c  4 bytes, big-endian, of everything after it up to the record's end
//	length  4 bytes, big-endian, of the payload
//	lsn     8 bytes, big-endian: the log sequence number
//	synced  8 bytes, big-endian: the LSN below which the log was fsynced
//	        when the record was appended
//	payload length bytes
//
// Log records carry consecutive LSNs across segments, so a missing or
// reordered segment is detected. A segment is zero-filled and synced ahead
// of the writer, a chunk at a time, so that a commit overwrites allocated
// blocks: its fdatasync changes no file metadata, needs no journal commit
// and does not wait for other files' writes. Zeros after the last record
// are the segment's unwritten end. A snapshot numbers its records 1, 2, … and
// ends with a trailer (LSN 0) holding the record count, the next LSN and the
// segment it precedes; a snapshot without its trailer is damaged, since
// snapshots are written to a temporary name, synced and renamed.
//
// # Commit
//
// [Log.Append] copies a record into the pending group and returns a
// [Ticket]. One goroutine writes the whole pending group with one write and,
// in [SyncEveryCommit] mode, one fsync; records appended while it writes form
// the next group. So one fsync covers every record that arrived during the
// previous one, and durability costs latency, not throughput.
//
// # Recovery
//
// [Open] replays the newest snapshot and then every later segment. A record
// that is cut short or fails its checksum in the last segment, with no
// intact record after it that was appended once it had been fsynced, is a
// torn write of records never acknowledged (their pages may reach the disk
// in any order): Open truncates the segment there and reports where and how
// much. The same damage anywhere else — in an older segment, in a snapshot,
// or before a record that proves it was synced — is an error naming the
// file and the offset; recovery never silently drops acknowledged records.
// Only damage to the very last synced records, with nothing appended after
// them, cannot be told from a torn write.
package wal
