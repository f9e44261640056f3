package scenario

import (
	"strings"

	"github.com/shadowload/shadowload/internal/load"
	"github.com/shadowload/shadowload/internal/topic"
	"github.com/shadowload/shadowload/shadow"
)

// ShadowTopic gives the topic of a shadow operation, such as
// ShadowTopic("sim-1", "classic", "update/accepted") =
// "$aws/things/sim-1/shadow/update/accepted"; shadow is ClassicShadow or the
// name of a named shadow.
func ShadowTopic(thing, shadowName, suffix string) string {
	if shadowName == ClassicShadow {
		shadowName = ""
	}
	return shadow.Prefix(thing, shadowName) + "/" + suffix
}

// DeviceFilters gives the topic filters a device of the fleet subscribes to:
// the load engine's reply filters for the fleet's shadows.
func (s *Scenario) DeviceFilters(thing string) []string {
	shadows := make([]string, len(s.Fleet.Shadows))
	for i, sh := range s.Fleet.Shadows {
		if sh != ClassicShadow {
			shadows[i] = sh
		}
	}
	return load.DeviceFilters(thing, shadows)
}

// matchingThings counts the things of the fleet whose shadow topic with the
// given shadow and suffix the filter matches.
func (f Fleet) matchingThings(filter, shadow, suffix string) int {
	levels := strings.SplitN(filter, "/", 4)
	wild := false
	for i, l := range levels {
		if i <= 2 && (l == "+" || l == "#") {
			wild = true
		}
	}
	if wild || len(levels) < 3 {
		if topic.Match(filter, ShadowTopic(f.ThingName(0), shadow, suffix), true) {
			return f.Things
		}
		return 0
	}
	if _, ok := f.ThingIndex(levels[2]); ok && topic.Match(filter, ShadowTopic(levels[2], shadow, suffix), true) {
		return 1
	}
	return 0
}

// thingLevel gives the third level of a topic filter, where shadow topics
// hold the thing name.
func thingLevel(filter string) string {
	levels := strings.SplitN(filter, "/", 4)
	if len(levels) < 3 {
		return ""
	}
	return levels[2]
}
