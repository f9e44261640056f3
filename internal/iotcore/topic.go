package iotcore

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Prefixes that AWS does not count toward the topic limits.
const (
	// BasicIngestPrefix starts a Basic Ingest topic, $aws/rules/{rule}/….
	BasicIngestPrefix = "$aws/rules/"
	// SharePrefix starts a shared-subscription filter, $share/{group}/….
	SharePrefix = "$share/"
)

// Errors of CheckTopic and CheckFilter. Match them with errors.Is; the
// returned errors wrap them with the offending name.
var (
	ErrEmptyTopic    = errors.New("empty")
	ErrTopicTooLong  = fmt.Errorf("over %d bytes", MaxTopicBytes)
	ErrTooManySlash  = fmt.Errorf("over %d slashes", MaxTopicSlashes)
	ErrWildcardTopic = errors.New("a topic name may not hold + or #")
	ErrBadWildcard   = errors.New("+ and # must stand alone in a level, and # must be last")
	ErrBadShare      = fmt.Errorf("want $share/{group}/{filter} with a group of 1 to %d characters without /, + or #", MaxShareNameChars)
	ErrNotUTF8       = errors.New("not valid UTF-8 or holds U+0000")
)

// CheckTopic reports why name is not a topic AWS IoT Core accepts in a
// PUBLISH, or nil.
func CheckTopic(name string) error {
	if name == "" {
		return fmt.Errorf("topic: %w", ErrEmptyTopic)
	}
	if strings.ContainsAny(name, "+#") {
		return fmt.Errorf("topic %q: %w", name, ErrWildcardTopic)
	}
	return checkLimits("topic", name, countedTopic(name))
}

// CheckFilter reports why f is not a topic filter AWS IoT Core accepts in a
// SUBSCRIBE, or nil. A shared-subscription filter $share/{group}/{filter} is
// checked as its group and its filter.
func CheckFilter(f string) error {
	if f == "" {
		return fmt.Errorf("topic filter: %w", ErrEmptyTopic)
	}
	inner := f
	if _, rest, shared, err := SplitShared(f); shared {
		if err != nil {
			return err
		}
		inner = rest
	}
	if err := checkLimits("topic filter", f, countedTopic(inner)); err != nil {
		return err
	}
	levels := strings.Split(inner, "/")
	for i, l := range levels {
		if l == "#" && i != len(levels)-1 || l != "#" && l != "+" && strings.ContainsAny(l, "+#") {
			return fmt.Errorf("topic filter %q: %w", f, ErrBadWildcard)
		}
	}
	return nil
}

// SplitShared splits a shared-subscription filter $share/{group}/{filter}
// into its group and filter. shared reports whether f starts with
// SharePrefix; err is set when it does but is malformed.
func SplitShared(f string) (group, filter string, shared bool, err error) {
	rest, ok := strings.CutPrefix(f, SharePrefix)
	if !ok {
		return "", f, false, nil
	}
	group, filter, ok = strings.Cut(rest, "/")
	if !ok || group == "" || filter == "" || strings.ContainsAny(group, "+#") || utf8.RuneCountInString(group) > MaxShareNameChars {
		return "", "", true, fmt.Errorf("topic filter %q: %w", f, ErrBadShare)
	}
	return group, filter, true, nil
}

// countedTopic strips what AWS does not count toward the limits: the Basic
// Ingest prefix $aws/rules/{rule}/.
func countedTopic(name string) string {
	if rest, ok := strings.CutPrefix(name, BasicIngestPrefix); ok {
		if _, after, ok := strings.Cut(rest, "/"); ok {
			return after
		}
	}
	return name
}

// checkLimits applies the byte, slash and encoding limits to counted, the
// part of name that counts.
func checkLimits(what, name, counted string) error {
	switch {
	case len(counted) > MaxTopicBytes:
		return fmt.Errorf("%s %.40q… has %d bytes: %w", what, name, len(counted), ErrTopicTooLong)
	case strings.Count(counted, "/") > MaxTopicSlashes:
		return fmt.Errorf("%s %q has %d slashes: %w", what, name, strings.Count(counted, "/"), ErrTooManySlash)
	case !utf8.ValidString(name) || strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("%s %q: %w", what, name, ErrNotUTF8)
	}
	return nil
}
