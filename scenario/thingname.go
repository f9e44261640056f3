package scenario

import (
	"fmt"
	"strconv"
	"strings"
)

// maxThingName is the AWS limit on thing name length.
const maxThingName = 128

// namePattern is a parsed thing name pattern: prefix, the index padded with
// zeros to width digits, suffix.
type namePattern struct {
	prefix, suffix string
	width          int
}

// parseNamePattern parses a pattern such as "sim-{i:05}" or "dev-{i}".
func parseNamePattern(s string) (namePattern, error) {
	open := strings.IndexByte(s, '{')
	if open < 0 {
		return namePattern{}, fmt.Errorf("%q has no {i} placeholder; want a pattern such as sim-{i:05}", s)
	}
	end := strings.IndexByte(s[open:], '}')
	if end < 0 {
		return namePattern{}, fmt.Errorf("%q has an unclosed {", s)
	}
	end += open
	p := namePattern{prefix: s[:open], suffix: s[end+1:]}
	if strings.ContainsAny(p.suffix, "{}") || strings.ContainsAny(p.prefix, "}") {
		return namePattern{}, fmt.Errorf("%q: want exactly one {i} placeholder", s)
	}
	switch ph := s[open+1 : end]; {
	case ph == "i":
	case strings.HasPrefix(ph, "i:0") && len(ph) > 3 && allDigits(ph[3:]):
		w, err := strconv.Atoi(ph[3:])
		if err != nil || w < 1 || w > 20 {
			return namePattern{}, fmt.Errorf("%q: padding width %q: want 1 to 20 digits", s, ph[3:])
		}
		p.width = w
	default:
		return namePattern{}, fmt.Errorf("%q: placeholder {%s}: want {i} or {i:0N} such as {i:05}", s, ph)
	}
	for _, part := range []string{p.prefix, p.suffix} {
		if i := strings.IndexFunc(part, func(r rune) bool { return !thingNameRune(r) }); i >= 0 {
			return namePattern{}, fmt.Errorf("%q: character %q is not allowed in a thing name; want [a-zA-Z0-9:_-]", s, []rune(part[i:])[0])
		}
	}
	return p, nil
}

func thingNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ':' || r == '_' || r == '-'
}

// format gives the name of thing i.
func (p namePattern) format(i int) string {
	n := strconv.Itoa(i)
	if pad := p.width - len(n); pad > 0 {
		n = strings.Repeat("0", pad) + n
	}
	return p.prefix + n + p.suffix
}

// index parses a name the pattern produces back to its index.
func (p namePattern) index(name string) (int, bool) {
	mid, ok := strings.CutPrefix(name, p.prefix)
	if !ok {
		return 0, false
	}
	if mid, ok = strings.CutSuffix(mid, p.suffix); !ok || mid == "" || !allDigits(mid) {
		return 0, false
	}
	i, err := strconv.Atoi(mid)
	if err != nil || p.format(i) != name {
		return 0, false
	}
	return i, true
}

// checkFleet reports why the pattern cannot name things 0 to things-1.
func (p namePattern) checkFleet(things int) error {
	if things < 1 {
		return nil
	}
	if longest := len(p.format(things - 1)); longest > maxThingName {
		return fmt.Errorf("thing %d would be named with %d bytes; AWS allows at most %d", things-1, longest, maxThingName)
	}
	return nil
}

// ThingName gives the name (and client ID) of thing i, counted from 0. A
// pattern that does not parse yields the pattern itself.
func (f Fleet) ThingName(i int) string {
	p, err := parseNamePattern(f.pattern())
	if err != nil {
		return f.pattern()
	}
	return p.format(i)
}

// ThingIndex gives the index of the thing with the given name, and whether
// the name belongs to the fleet.
func (f Fleet) ThingIndex(name string) (int, bool) {
	p, err := parseNamePattern(f.pattern())
	if err != nil {
		return 0, false
	}
	i, ok := p.index(name)
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
