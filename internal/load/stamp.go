package load

import "bytes"

// StampField is the field the harness adds to every section it writes: the
// send time in nanoseconds since the run's start, on the generating process's
// monotonic clock. Delta and fan-out messages carry it back (AWS puts no
// client token in update/documents), so their latency is measured on one clock
// with no synchronisation, as long as devices and observers run in the same
// process as the sender, which they do.
const StampField = "shadowload_ns"

var stampKey = []byte(`"` + StampField + `":`)

// maxStamp returns the largest stamp in a shadow message, or -1 when it
// holds none. A documents message holds the previous state's stamp too; the
// triggering update's is the newest.
func maxStamp(payload []byte) int64 {
	best := int64(-1)
	for {
		i := bytes.Index(payload, stampKey)
		if i < 0 {
			return best
		}
		payload = payload[i+len(stampKey):]
		var v int64
		n := 0
		for n < len(payload) && payload[n] >= '0' && payload[n] <= '9' && n < 19 {
			v = v*10 + int64(payload[n]-'0')
			n++
		}
		if n > 0 && v > best {
			best = v
		}
		payload = payload[n:]
	}
}
