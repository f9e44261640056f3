package load

import (
	"bytes"
	"strconv"
)

// StampField is the field the harness adds to every section an update
// writes: the slot's intended send time in nanoseconds since the Unix epoch,
// taken from the run's start and this process's monotonic clock. Delta and
// fan-out messages carry it back (AWS puts no client token in
// update/documents), so their latency is measured on one clock with no
// synchronisation: devices and observers run in the process that sent.
// Stamps left in a shadow by an earlier run are older than any of this run.
const StampField = "shadowload_ns"

// AnswerStampField carries the stamp of a device's reported answer to a
// delta. The answer copies the delta, desired's StampField included, so
// that desired and reported agree; its own send time needs another field,
// which, being only in reported, never appears in a delta.
const AnswerStampField = "shadowload_answer_ns"

// DesiredStampField carries the stamp of the application's desired write to
// a thing that is away (observers' offline_writes). It is the write's only
// field, apart from what the device reports, so a device that answers the
// delta settles it for good.
const DesiredStampField = "shadowload_desired_ns"

var stampKeys = [][]byte{[]byte(`"` + StampField + `":`), []byte(`"` + AnswerStampField + `":`), []byte(`"` + DesiredStampField + `":`)}

// appendStamped appends the JSON object obj with "key":stamp added as its
// last member.
func appendStamped(dst, obj []byte, key string, stamp int64) []byte {
	obj = bytes.TrimSpace(obj)
	if len(obj) < 2 || obj[len(obj)-1] != '}' || len(bytes.TrimSpace(obj[1:len(obj)-1])) == 0 {
		dst = append(dst, '{')
	} else {
		dst = append(dst, obj[:len(obj)-1]...)
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, `":`...)
	dst = strconv.AppendInt(dst, stamp, 10)
	return append(dst, '}')
}

// maxStamp returns the largest stamp in a shadow message, or -1 when it
// holds none. A documents message holds the previous state's stamps too;
// the triggering update's is the newest.
func maxStamp(payload []byte) int64 {
	best := int64(-1)
	for _, key := range stampKeys {
		for p := payload; ; {
			i := bytes.Index(p, key)
			if i < 0 {
				break
			}
			p = p[i+len(key):]
			var v int64
			n := 0
			for n < len(p) && n < 19 && p[n] >= '0' && p[n] <= '9' {
				v = v*10 + int64(p[n]-'0')
				n++
			}
			if n > 0 && v > best {
				best = v
			}
			p = p[n:]
		}
	}
	return best
}
