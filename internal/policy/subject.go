package policy

import (
	"strings"
	"unicode/utf8"
)

// defaultPrefix is the ARN up to the resource type in the default region
// and account.
const defaultPrefix = "arn:aws:iot:" + DefaultRegion + ":" + DefaultAccount

// defaultPrefixes holds, per action, the ARN before the resource name in the
// default region and account.
var defaultPrefixes = [...]string{
	Connect:           defaultPrefix + ":client/",
	Publish:           defaultPrefix + ":topic/",
	Subscribe:         defaultPrefix + ":topicfilter/",
	Receive:           defaultPrefix + ":topic/",
	RetainPublish:     defaultPrefix + ":topic/",
	GetThingShadow:    defaultPrefix + ":thing/",
	UpdateThingShadow: defaultPrefix + ":thing/",
	DeleteThingShadow: defaultPrefix + ":thing/",
}

// subject is the text a pattern is matched against, held as the pieces it
// is made of (the ARN prefix, region, account, resource type and name) so
// that the ARN is never concatenated.
type subject struct {
	parts [6]string
	n     int
	size  int
}

func (s *subject) add(p string) {
	s.parts[s.n] = p
	s.n++
	s.size += len(p)
}

// arn makes s the resource ARN arn:aws:iot:REGION:ACCOUNT:TYPE/NAME for a.
func (s *subject) arn(a Action, name string, c *Context) {
	if c.region() == DefaultRegion && c.account() == DefaultAccount {
		s.add(defaultPrefixes[a])
		s.add(name)
		return
	}
	s.add("arn:aws:iot:")
	s.add(c.region())
	s.add(":")
	s.add(c.account())
	s.add(resourceTypes[a])
	s.add(name)
}

// hasAt reports whether lit occurs in s at byte offset pos.
func (s *subject) hasAt(pos int, lit string) bool {
	if pos+len(lit) > s.size {
		return false
	}
	for k := 0; k < s.n && len(lit) > 0; k++ {
		p := s.parts[k]
		if pos >= len(p) {
			pos -= len(p)
			continue
		}
		chunk := p[pos:]
		if len(chunk) > len(lit) {
			chunk = chunk[:len(lit)]
		}
		if chunk != lit[:len(chunk)] {
			return false
		}
		lit = lit[len(chunk):]
		pos = 0
	}
	return len(lit) == 0
}

// charWidth returns the byte length of the character at offset pos: one
// UTF-8 encoded rune, or one byte of an invalid encoding. It returns 0 at
// the end of s.
func (s *subject) charWidth(pos int) int {
	for k := 0; k < s.n; k++ {
		p := s.parts[k]
		if pos < len(p) {
			if p[pos] < utf8.RuneSelf {
				return 1
			}
			_, w := utf8.DecodeRuneInString(p[pos:])
			return w
		}
		pos -= len(p)
	}
	return 0
}

// indexByte returns the first offset at or after from where byte b occurs,
// or -1.
func (s *subject) indexByte(from int, b byte) int {
	base := 0
	for k := 0; k < s.n; k++ {
		p := s.parts[k]
		if from < base+len(p) {
			start := 0
			if from > base {
				start = from - base
			}
			if i := strings.IndexByte(p[start:], b); i >= 0 {
				return base + start + i
			}
		}
		base += len(p)
	}
	return -1
}
