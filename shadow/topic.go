package shadow

import (
	"errors"
	"fmt"
	"strings"
)

// Op is the shadow operation a topic addresses.
type Op uint8

// Shadow operations.
const (
	OpGet Op = iota
	OpUpdate
	OpDelete
)

var opNames = [...]string{OpGet: "get", OpUpdate: "update", OpDelete: "delete"}

// String returns the topic segment of the operation: get, update or delete.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Kind is the role of a shadow topic: the request or one of its replies.
type Kind uint8

// Topic kinds. Delta and documents exist only for OpUpdate.
const (
	KindRequest Kind = iota
	KindAccepted
	KindRejected
	KindDelta
	KindDocuments
)

var kindNames = [...]string{KindRequest: "", KindAccepted: "accepted", KindRejected: "rejected", KindDelta: "delta", KindDocuments: "documents"}

// String returns the topic suffix of the kind ("accepted", …), or "request"
// for KindRequest, which has no suffix.
func (k Kind) String() string {
	if k == KindRequest {
		return "request"
	}
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Topic is a parsed shadow topic.
type Topic struct {
	Thing  string
	Shadow string // "" for the classic shadow
	Op     Op
	Kind   Kind
}

// ErrNotShadowTopic is returned (wrapped) by ParseTopic for topics outside
// $aws/things/+/shadow.
var ErrNotShadowTopic = errors.New("not a shadow topic")

const (
	thingsPrefix = "$aws/things/"
	shadowSeg    = "/shadow"
	nameSeg      = "/name/"
)

// ParseTopic parses a classic or named shadow topic. Topics outside
// $aws/things/+/shadow give an error wrapping ErrNotShadowTopic; within
// it, invalid names and unknown suffixes give other errors. Delta and
// documents are accepted only after update.
func ParseTopic(topic string) (Topic, error) {
	var t Topic
	rest, ok := strings.CutPrefix(topic, thingsPrefix)
	i := strings.IndexByte(rest, '/')
	if !ok || i < 0 || !strings.HasPrefix(rest[i:], shadowSeg) ||
		(len(rest) > i+len(shadowSeg) && rest[i+len(shadowSeg)] != '/') {
		return t, fmt.Errorf("topic %q: %w: want $aws/things/THING/shadow/…", topic, ErrNotShadowTopic)
	}
	t.Thing, rest = rest[:i], rest[i+len(shadowSeg):]
	if err := ValidateThingName(t.Thing); err != nil {
		return Topic{}, fmt.Errorf("topic %q: %w", topic, err)
	}
	if after, ok := strings.CutPrefix(rest, nameSeg); ok {
		j := strings.IndexByte(after, '/')
		if j < 0 {
			return Topic{}, fmt.Errorf("topic %q: want an operation after the shadow name", topic)
		}
		t.Shadow, rest = after[:j], after[j:]
		if err := ValidateShadowName(t.Shadow); err != nil {
			return Topic{}, fmt.Errorf("topic %q: %w", topic, err)
		}
	}
	op, kind, ok := parseSuffix(rest)
	if !ok {
		return Topic{}, fmt.Errorf("topic %q: unknown suffix %q: want /get, /update or /delete, optionally followed by /accepted or /rejected (update also /delta, /documents)", topic, rest)
	}
	t.Op, t.Kind = op, kind
	return t, nil
}

// parseSuffix parses "/op" or "/op/kind".
func parseSuffix(s string) (Op, Kind, bool) {
	s, ok := strings.CutPrefix(s, "/")
	if !ok {
		return 0, 0, false
	}
	opName, kindName, hasKind := strings.Cut(s, "/")
	op := -1
	for i, n := range opNames {
		if n == opName {
			op = i
		}
	}
	if op < 0 {
		return 0, 0, false
	}
	if !hasKind {
		return Op(op), KindRequest, true
	}
	for k := KindAccepted; k <= KindDocuments; k++ {
		if kindNames[k] == kindName {
			if k >= KindDelta && Op(op) != OpUpdate {
				return 0, 0, false
			}
			return Op(op), k, true
		}
	}
	return 0, 0, false
}

// String returns the topic, e.g. $aws/things/T/shadow/name/S/update/accepted.
func (t Topic) String() string {
	return string(t.AppendTo(make([]byte, 0, t.len())))
}

func (t Topic) len() int {
	n := len(thingsPrefix) + len(t.Thing) + len(shadowSeg) + 1 + 6 + 1 + 9
	if t.Shadow != "" {
		n += len(nameSeg) + len(t.Shadow)
	}
	return n
}

// AppendTo appends the topic to b; it allocates only when b lacks room.
func (t Topic) AppendTo(b []byte) []byte {
	b = append(b, thingsPrefix...)
	b = append(b, t.Thing...)
	b = append(b, shadowSeg...)
	if t.Shadow != "" {
		b = append(b, nameSeg...)
		b = append(b, t.Shadow...)
	}
	b = append(b, '/')
	if int(t.Op) < len(opNames) {
		b = append(b, opNames[t.Op]...)
	}
	if t.Kind != KindRequest && int(t.Kind) < len(kindNames) {
		b = append(b, '/')
		b = append(b, kindNames[t.Kind]...)
	}
	return b
}

// Reply returns the topic of the same shadow and operation with kind k.
func (t Topic) Reply(k Kind) Topic {
	t.Kind = k
	return t
}

// Prefix returns "$aws/things/THING/shadow" for the classic shadow
// (shadow "") or "$aws/things/THING/shadow/name/SHADOW" for a named one.
func Prefix(thing, shadow string) string {
	if shadow == "" {
		return thingsPrefix + thing + shadowSeg
	}
	return thingsPrefix + thing + shadowSeg + nameSeg + shadow
}

// Name limits of AWS IoT: the one home of the thing and shadow name grammar,
// which provisioning, scenario files and the emulator all check against.
const (
	// MaxThingNameBytes is the longest thing name AWS IoT accepts.
	MaxThingNameBytes = 128
	// MaxShadowNameBytes is the longest shadow name AWS IoT accepts.
	MaxShadowNameBytes = 64
)

// IsThingNameByte reports whether c may appear in a thing name:
// [a-zA-Z0-9:_-].
func IsThingNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '_' || c == '-'
}

// IsShadowNameByte reports whether c may appear in a shadow name:
// [$a-zA-Z0-9:_-].
func IsShadowNameByte(c byte) bool { return IsThingNameByte(c) || c == '$' }

// ValidateThingName checks a thing name: 1–128 characters of [a-zA-Z0-9:_-].
func ValidateThingName(s string) error {
	return validateName("thing name", s, MaxThingNameBytes, IsThingNameByte, "[a-zA-Z0-9:_-]")
}

// ValidateShadowName checks a shadow name: 1–64 characters of [$a-zA-Z0-9:_-].
func ValidateShadowName(s string) error {
	return validateName("shadow name", s, MaxShadowNameBytes, IsShadowNameByte, "[$a-zA-Z0-9:_-]")
}

func validateName(what, s string, maxLen int, allowed func(byte) bool, set string) error {
	if len(s) == 0 || len(s) > maxLen {
		return fmt.Errorf("%s %.40q: want 1–%d characters of %s, got %d", what, s, maxLen, set, len(s))
	}
	for i := 0; i < len(s); i++ {
		if !allowed(s[i]) {
			return fmt.Errorf("%s %q: character %q at byte %d: want only %s", what, s, s[i], i, set)
		}
	}
	return nil
}
