// Package topic matches MQTT topic filters against topic names, the one
// matcher the emulator, the load engine and the scenario planner share.
package topic

import "strings"

// Match reports whether an MQTT topic filter matches a topic name: "+" is
// one level, "#" the rest including the parent level ("a/#" matches "a").
// Under the MQTT rule a filter starting with a wildcard does not match a
// topic starting with "$"; dollarWildcards lifts that rule, as the AWS
// console's "#" subscription showed for $aws topics.
func Match(filter, topic string, dollarWildcards bool) bool {
	if !dollarWildcards && topic != "" && topic[0] == '$' && filter != "" && (filter[0] == '+' || filter[0] == '#') {
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
			return frest == "#"
		case !fmore:
			return false
		}
		filter, topic = frest, trest
	}
}
