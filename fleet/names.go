package fleet

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxThingNameLen is the longest thing name AWS IoT Core accepts.
const MaxThingNameLen = 128

// maxIndexWidth bounds the zero-padding width of an "{i:0N}" placeholder; a
// wider one could never give a valid thing name.
const maxIndexWidth = MaxThingNameLen

// ValidateThingName checks name against the AWS IoT thing-name rule: 1 to 128
// characters from [a-zA-Z0-9:_-].
func ValidateThingName(name string) error {
	if name == "" {
		return errors.New("fleet: thing name is empty, want 1-128 characters from [a-zA-Z0-9:_-]")
	}
	if len(name) > MaxThingNameLen {
		return fmt.Errorf("fleet: thing name %.20q... is %d characters, want at most %d", name, len(name), MaxThingNameLen)
	}
	for i := 0; i < len(name); i++ {
		if !thingNameByte(name[i]) {
			return fmt.Errorf("fleet: thing name %q: character %q at offset %d, want only [a-zA-Z0-9:_-]", name, name[i], i)
		}
	}
	return nil
}

func thingNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '_' || c == '-'
}

// ThingName expands a name pattern for index i (i >= 0). In the pattern "{i}"
// stands for the decimal index and "{i:0N}" for the index zero-padded to N
// digits (1 <= N <= 128), so "sim-{i:05}" with 42 gives "sim-00042". Any other
// use of braces is an error, and so is a result that is not a valid thing name
// (see ValidateThingName).
func ThingName(pattern string, i int) (string, error) {
	if i < 0 {
		return "", fmt.Errorf("fleet: name pattern %q: index %d is negative", pattern, i)
	}
	var b strings.Builder
	b.Grow(len(pattern) + 8)
	for j := 0; j < len(pattern); {
		switch c := pattern[j]; c {
		case '{':
			end := strings.IndexByte(pattern[j:], '}')
			if end < 0 {
				return "", fmt.Errorf("fleet: name pattern %q: unclosed '{' at offset %d, want {i} or {i:0N}", pattern, j)
			}
			width, err := parsePlaceholder(pattern[j+1 : j+end])
			if err != nil {
				return "", fmt.Errorf("fleet: name pattern %q: placeholder at offset %d: %w", pattern, j, err)
			}
			digits := strconv.Itoa(i)
			for n := len(digits); n < width; n++ {
				b.WriteByte('0')
			}
			b.WriteString(digits)
			j += end + 1
		case '}':
			return "", fmt.Errorf("fleet: name pattern %q: unmatched '}' at offset %d", pattern, j)
		default:
			b.WriteByte(c)
			j++
		}
	}
	name := b.String()
	if err := ValidateThingName(name); err != nil {
		return "", fmt.Errorf("fleet: name pattern %q with index %d: %w", pattern, i, err)
	}
	return name, nil
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

// patternHasIndex reports whether pattern holds at least one index placeholder,
// so that different indexes give different names.
func patternHasIndex(pattern string) bool {
	return strings.Contains(pattern, "{i}") || strings.Contains(pattern, "{i:0")
}
