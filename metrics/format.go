package metrics

import (
	"math"
	"strconv"
	"strings"
)

// latencyUnits are the units FormatLatency chooses from, smallest first.
var latencyUnits = [...]struct {
	ns     float64
	suffix string
}{{1, "ns"}, {1e3, "µs"}, {1e6, "ms"}, {1e9, "s"}}

// FormatLatency writes a latency given in nanoseconds for people: three
// significant digits in the largest unit that keeps the number at least 1,
// such as "850ns", "12.3µs", "231ms" or "1.5s". Seconds are the largest
// unit ("75s").
func FormatLatency(ns float64) string {
	if math.IsNaN(ns) || math.IsInf(ns, 0) {
		return strconv.FormatFloat(ns, 'f', -1, 64)
	}
	if ns < 0 {
		return "-" + FormatLatency(-ns)
	}
	u := 0
	for u+1 < len(latencyUnits) && ns >= latencyUnits[u+1].ns {
		u++
	}
	for {
		v := ns / latencyUnits[u].ns
		prec := 0
		switch {
		case u == 0:
		case v < 10:
			prec = 2
		case v < 100:
			prec = 1
		}
		s := strconv.FormatFloat(v, 'f', prec, 64)
		// Rounding can carry into the next unit: 999.7µs is 1ms, not 1000µs.
		if s == "1000" && u+1 < len(latencyUnits) {
			u++
			continue
		}
		return trimZeros(s) + latencyUnits[u].suffix
	}
}

// trimZeros drops trailing zeros after a decimal point, and the point.
func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
