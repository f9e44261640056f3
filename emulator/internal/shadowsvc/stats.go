package shadowsvc

import "sync/atomic"

// maxCode bounds the response codes counted one by one; other codes count
// as 500.
const maxCode = 600

// Stats are the service's counters since New.
type Stats struct {
	// Requests counts shadow requests received (get, update and delete).
	Requests uint64
	// Accepted counts requests answered on */accepted.
	Accepted uint64
	// Rejected counts requests answered on */rejected, by code; it includes
	// the service's own 429 rejections.
	Rejected map[int]uint64
	// Throttled counts 429 rejections from the service's limits:
	// RateLimited plus InFlightLimited.
	Throttled uint64
	// RateLimited counts requests over a shadow's requests per second.
	RateLimited uint64
	// InFlightLimited counts requests over a connection's in-flight cap.
	InFlightLimited uint64
	// Pending is the number of responses held for a later publish.
	Pending int
	// Lost counts responses dropped because the change they acknowledge
	// could not be logged durably.
	Lost uint64
}

// rejections counts rejections by code.
type rejections [maxCode]atomic.Uint64

// add counts one rejection with code.
func (r *rejections) add(code int) {
	if code < 0 || code >= maxCode {
		code = 500
	}
	r[code].Add(1)
}

// Stats returns a snapshot of the service's counters.
func (s *Service) Stats() Stats {
	st := Stats{Rejected: make(map[int]uint64)}
	for i := range s.store.shards {
		c := &s.store.shards[i].counts
		st.Requests += c.requests.Load()
		st.Accepted += c.accepted.Load()
		st.RateLimited += c.rateLimited.Load()
		st.InFlightLimited += c.inFlightLimited.Load()
	}
	st.Throttled = st.RateLimited + st.InFlightLimited
	for code := range s.rejected {
		if n := s.rejected[code].Load(); n > 0 {
			st.Rejected[code] = n
		}
	}
	if s.sched != nil {
		st.Pending = s.sched.pending()
	}
	st.Lost = s.lost.Load()
	return st
}
