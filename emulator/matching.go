package emulator

import "strings"

// topicMatches reports whether an MQTT topic filter matches a topic name,
// following the MQTT rules ("+" one level, "#" the rest including the
// parent level, no leading wildcard match for "$" topics).
func topicMatches(filter, topic string) bool {
	if topic != "" && topic[0] == '$' && filter != "" && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		if fl == "#" {
			return true
		}
		tl, trest, tmore := strings.Cut(topic, "/")
		if fl != "+" && fl != tl {
			return false
		}
		switch {
		case !fmore && !tmore:
			return true
		case !tmore:
			// "a/#" matches "a" in MQTT.
			return frest == "#"
		case !fmore:
			return false
		}
		filter, topic = frest, trest
	}
}

// onlyParentMatch applies AWS's rule that "a/#" does not match "a": it
// reports whether the connection's only filters matching topic are
// topic+"/#", in which case the broker (which follows MQTT) must not deliver.
func (cs *connState) onlyParentMatch(topic string) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.parentFilters == 0 {
		return false
	}
	parent := topic + "/#"
	if _, ok := cs.filters[parent]; !ok {
		return false
	}
	for f := range cs.filters {
		if f != parent && topicMatches(f, topic) {
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
