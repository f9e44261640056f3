package emulator

import "testing"

func TestParentFilterDoesNotMatchItsParentTopic(t *testing.T) {
	cs := &connState{}
	cs.addFilter("a/#")
	if !cs.onlyParentMatch("a") {
		t.Fatal(`"a/#" alone delivered "a"`)
	}
	if cs.onlyParentMatch("a/b") {
		t.Fatal(`"a/#" did not deliver "a/b"`)
	}
	cs.addFilter("+")
	if cs.onlyParentMatch("a") {
		t.Fatal(`"+" should deliver "a"`)
	}
	cs.removeFilter("+")
	cs.removeFilter("a/#")
	if cs.onlyParentMatch("a") || cs.parentFilters != 0 {
		t.Fatalf("after removal: parentFilters=%d", cs.parentFilters)
	}
}
