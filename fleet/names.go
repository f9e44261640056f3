package fleet

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shadowload/shadowload/shadow"
)

// maxIndexWidth bounds the zero-padding width of an "{i:0N}" placeholder; a
// wider one could never give a valid thing name.
const maxIndexWidth = shadow.MaxThingNameBytes

// NamePattern is a parsed thing-name pattern: the one grammar provisioning,
// scenario files and the runner share. A pattern is a prefix, at most one
// index placeholder — "{i}" for the decimal index or "{i:0N}" for the index
// zero-padded to N digits (1 <= N <= 128) — and a suffix, so "sim-{i:05}"
// names thing 42 "sim-00042". Prefix and suffix hold only thing-name
// characters ([a-zA-Z0-9:_-]); a pattern without a placeholder names a
// single thing.
type NamePattern struct {
	prefix, suffix string
	width          int
	indexed        bool
}

// ParseNamePattern parses a thing-name pattern; errors name the offending
// part and say what was expected.
func ParseNamePattern(pattern string) (NamePattern, error) {
	var p NamePattern
	open := strings.IndexByte(pattern, '{')
	if open < 0 {
		p.prefix = pattern
	} else {
		end := strings.IndexByte(pattern[open:], '}')
		if end < 0 {
			return NamePattern{}, fmt.Errorf("name pattern %q: unclosed '{' at offset %d, want {i} or {i:0N}", pattern, open)
		}
		end += open
		width, err := parsePlaceholder(pattern[open+1 : end])
		if err != nil {
			return NamePattern{}, fmt.Errorf("name pattern %q: placeholder at offset %d: %w", pattern, open, err)
		}
		p = NamePattern{prefix: pattern[:open], suffix: pattern[end+1:], width: width, indexed: true}
		if j := strings.IndexAny(p.suffix, "{}"); j >= 0 {
			return NamePattern{}, fmt.Errorf("name pattern %q: %q at offset %d: want exactly one {i} or {i:0N} placeholder", pattern, p.suffix[j], end+1+j)
		}
	}
	if j := strings.IndexByte(p.prefix, '}'); j >= 0 {
		return NamePattern{}, fmt.Errorf("name pattern %q: unmatched '}' at offset %d", pattern, j)
	}
	parts := [...]struct {
		off  int
		text string
	}{{0, p.prefix}, {len(pattern) - len(p.suffix), p.suffix}}
	for _, part := range parts {
		for k := 0; k < len(part.text); k++ {
			if !shadow.IsThingNameByte(part.text[k]) {
				return NamePattern{}, fmt.Errorf("name pattern %q: character %q at offset %d is not allowed in a thing name; want [a-zA-Z0-9:_-]", pattern, part.text[k], part.off+k)
			}
		}
	}
	if !p.indexed && p.prefix == "" {
		return NamePattern{}, fmt.Errorf("name pattern is empty; want a pattern such as sim-{i:05}")
	}
	return p, nil
}

// parsePlaceholder reads the inside of a "{...}" placeholder and returns its
// zero-padding width (0 for plain "{i}").
func parsePlaceholder(spec string) (int, error) {
	if spec == "i" {
		return 0, nil
	}
	rest, ok := strings.CutPrefix(spec, "i:0")
	if !ok || rest == "" {
		return 0, fmt.Errorf("{%s}: want {i} or {i:0N} with N the zero-padded width", spec)
	}
	for k := 0; k < len(rest); k++ {
		if rest[k] < '0' || rest[k] > '9' {
			return 0, fmt.Errorf("{%s}: width %q is not a decimal number", spec, rest)
		}
	}
	width, err := strconv.Atoi(rest)
	if err != nil || width < 1 || width > maxIndexWidth {
		return 0, fmt.Errorf("{%s}: width %q out of range, want 1 to %d", spec, rest, maxIndexWidth)
	}
	return width, nil
}

// Indexed reports whether the pattern has an index placeholder, so that
// different indexes give different names.
func (p NamePattern) Indexed() bool { return p.indexed }

// Name gives the name of thing i (i >= 0). It does not check the length:
// Check does that for a whole fleet.
func (p NamePattern) Name(i int) string {
	if !p.indexed {
		return p.prefix
	}
	n := strconv.Itoa(i)
	if pad := p.width - len(n); pad > 0 {
		n = strings.Repeat("0", pad) + n
	}
	return p.prefix + n + p.suffix
}

// Index parses a name the pattern gives back to its index.
func (p NamePattern) Index(name string) (int, bool) {
	if !p.indexed {
		return 0, name == p.prefix
	}
	mid, ok := strings.CutPrefix(name, p.prefix)
	if !ok {
		return 0, false
	}
	mid, ok = strings.CutSuffix(mid, p.suffix)
	if !ok || mid == "" {
		return 0, false
	}
	for k := 0; k < len(mid); k++ {
		if mid[k] < '0' || mid[k] > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(mid)
	if err != nil || p.Name(i) != name {
		return 0, false
	}
	return i, true
}

// Check reports why the pattern cannot name things first to first+n-1: a
// pattern without a placeholder names one thing only, and every name must be
// a valid thing name (the longest is the last).
func (p NamePattern) Check(first, n int) error {
	if n < 1 {
		return nil
	}
	if first < 0 {
		return fmt.Errorf("first index %d is negative", first)
	}
	if n > 1 && !p.indexed {
		return fmt.Errorf("name pattern %q has no {i} or {i:0N} placeholder, so %d things would share one name", p.prefix, n)
	}
	last := first + n - 1
	if last < first {
		return fmt.Errorf("%d things from index %d: the index overflows", n, first)
	}
	if err := shadow.ValidateThingName(p.Name(last)); err != nil {
		return fmt.Errorf("thing %d: %w", last, err)
	}
	return nil
}

// ThingName expands a name pattern for index i (i >= 0): ParseNamePattern,
// then Name, checked to be a valid thing name.
func ThingName(pattern string, i int) (string, error) {
	if i < 0 {
		return "", fmt.Errorf("fleet: name pattern %q: index %d is negative", pattern, i)
	}
	p, err := ParseNamePattern(pattern)
	if err != nil {
		return "", fmt.Errorf("fleet: %w", err)
	}
	name := p.Name(i)
	if err := shadow.ValidateThingName(name); err != nil {
		return "", fmt.Errorf("fleet: name pattern %q with index %d: %w", pattern, i, err)
	}
	return name, nil
}
