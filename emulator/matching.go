package emulator

import (
	"strings"

	"github.com/shadowload/shadowload/internal/topic"
)

// onlyParentMatch applies AWS's rule that "a/#" does not match "a": it
// reports whether the connection's only filter matching the topic name is
// name+"/#", in which case the broker (which follows MQTT) must not deliver.
func (cs *connState) onlyParentMatch(name string) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.onlyParentMatchLocked(name)
}

// onlyParentMatchLocked is onlyParentMatch for a caller holding cs.mu.
func (cs *connState) onlyParentMatchLocked(name string) bool {
	if cs.parentFilters == 0 {
		return false
	}
	parent := name + "/#"
	if _, ok := cs.filters[parent]; !ok {
		return false
	}
	for f := range cs.filters {
		if f != parent && topic.Match(f, name, false) {
			return false
		}
	}
	return true
}

// addFilter and removeFilter keep filters and parentFilters in step; the
// caller holds cs.mu.
func (cs *connState) addFilter(f string) {
	if cs.filters == nil {
		cs.filters = map[string]struct{}{}
	}
	if _, ok := cs.filters[f]; ok {
		return
	}
	cs.filters[f] = struct{}{}
	if strings.HasSuffix(f, "/#") {
		cs.parentFilters++
	}
}

func (cs *connState) removeFilter(f string) {
	if _, ok := cs.filters[f]; !ok {
		return
	}
	delete(cs.filters, f)
	if strings.HasSuffix(f, "/#") {
		cs.parentFilters--
	}
}
