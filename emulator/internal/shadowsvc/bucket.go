package shadowsvc

import "time"

// bucket is a token bucket holding up to one second of request credit: with
// a rate of n per second each request costs 1s/n, so at most n requests pass
// in any burst and n per second in the long run. It has no lock of its own;
// the shadow entry's mutex guards it.
type bucket struct {
	// credit is the unspent credit in nanoseconds, at most one second.
	credit int64
	// last is the time credit was last brought up to date, in nanoseconds
	// since the service's start; primed reports whether it has been set.
	last   int64
	primed bool
}

// allow takes one request's cost from b at time now (nanoseconds since the
// service's start) and reports whether there was enough credit.
func (b *bucket) allow(now, cost int64) bool {
	const full = int64(time.Second)
	if !b.primed {
		b.primed, b.credit, b.last = true, full, now
	}
	if elapsed := now - b.last; elapsed > 0 {
		b.credit = min(full, b.credit+elapsed)
		b.last = now
	}
	if b.credit < cost {
		return false
	}
	b.credit -= cost
	return true
}
