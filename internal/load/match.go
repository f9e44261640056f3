package load

import "strings"

// matchFilter reports whether an MQTT topic filter matches a topic. With
// hashDollar false it follows the MQTT rule that wildcards at the first level
// do not match topics starting with "$"; with it true a leading "#" matches
// them too, as the AWS console's test client showed.
func matchFilter(filter, topic string, hashDollar bool) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || (strings.HasPrefix(filter, "#") && !hashDollar)) {
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
		if !fmore || !tmore {
			// "a/#" matches "a" too.
			return fmore == tmore || (fmore && frest == "#")
		}
		filter, topic = frest, trest
	}
}
