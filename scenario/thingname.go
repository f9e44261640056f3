package scenario

import (
	"strconv"

	"github.com/shadowload/shadowload/fleet"
)

// namePattern parses the fleet's thing name pattern with the fleet package's
// grammar, the one provisioning uses.
func (f Fleet) namePattern() (fleet.NamePattern, error) {
	return fleet.ParseNamePattern(f.pattern())
}

// ThingName gives the name (and client ID) of thing i, counted from 0. A
// pattern that does not parse yields the pattern itself.
func (f Fleet) ThingName(i int) string {
	p, err := f.namePattern()
	if err != nil {
		return f.pattern()
	}
	return p.Name(i)
}

// ThingIndex gives the index of the thing with the given name, and whether
// the name belongs to the fleet.
func (f Fleet) ThingIndex(name string) (int, bool) {
	p, err := f.namePattern()
	if err != nil {
		return 0, false
	}
	i, ok := p.Index(name)
	return i, ok && i < f.Things
}

func (f Fleet) pattern() string {
	if f.Name == "" {
		return DefaultThingName
	}
	return f.Name
}

// observerClash gives the first connection of the observer group whose
// client ID, {name}-{k}, is also the name of a thing of the fleet.
func (f Fleet) observerClash(o Observer) (int, bool) {
	for k := range o.Count {
		if _, ok := f.ThingIndex(o.Name + "-" + strconv.Itoa(k)); ok {
			return k, true
		}
	}
	return 0, false
}
