package load

import (
	"fmt"
	"time"
)

// Shard is one slice of a run split across processes, Index of Count from
// 0. The zero value is the whole run. Shard i runs the things whose fleet
// index is i modulo Count; each keeps the slots the whole run's schedule
// gives it (slot k goes to thing k modulo the fleet's size), so the shards'
// slots together are exactly the whole schedule, each at its own time, and
// every shard's slots are spread evenly over it.
type Shard struct {
	Index, Count int
}

// Whole reports whether s is the whole run rather than a slice of it.
func (s Shard) Whole() bool { return s.Count <= 1 }

// Validate checks that s names one of its Count shards.
func (s Shard) Validate() error {
	switch {
	case s.Count == 0 && s.Index == 0:
		return nil
	case s.Count < 1:
		return fmt.Errorf("shard %d/%d: want at least 1 shard", s.Index, s.Count)
	case s.Index < 0 || s.Index >= s.Count:
		return fmt.Errorf("shard %d/%d: want an index from 0 to %d", s.Index, s.Count, s.Count-1)
	}
	return nil
}

// Owns reports whether the thing of fleet index i belongs to the shard.
func (s Shard) Owns(i int) bool { return s.Whole() || i%s.Count == s.Index }

// Things returns the fleet indexes of the shard's things in a fleet of n,
// in order.
func (s Shard) Things(n int) []int {
	var out []int
	for i := 0; i < n; i++ {
		if s.Owns(i) {
			out = append(out, i)
		}
	}
	return out
}

// Slots calls yield with each slot of the shard's things in a fleet of n
// and its time from the start of the schedule, in the order of the
// schedule, until yield returns false: the slots a run of the shard sends.
func (s *Schedule) ShardSlots(shard Shard, n int, yield func(slot int64, at time.Duration) bool) {
	things := shard.Things(n)
	for cycle := int64(0); cycle*int64(n) < s.Slots(); cycle++ {
		for _, t := range things {
			i := cycle*int64(n) + int64(t)
			if i >= s.Slots() {
				return
			}
			if !yield(i, s.At(i)) {
				return
			}
		}
	}
}
