package shadow

import (
	"unicode/utf16"
	"unicode/utf8"
)

// indexThreshold is the member count above which an object being parsed
// finds duplicate keys through a map rather than a scan.
const indexThreshold = 32

// parser builds a node tree over a JSON text. The tree aliases the input and
// the parser's pools, so it lives only until the next parse; the pools are
// reused from one request to the next.
type parser struct {
	data    []byte
	pos     int
	depth   int
	tooDeep bool     // the nesting went past maxParseDepth
	pool    []member // members of finished objects and arrays
	stack   []member // members of objects and arrays being parsed
	text    []byte   // decoded keys that held escapes
}

// parse parses data as exactly one JSON value with optional surrounding
// whitespace. It reports false for any syntax error.
func (p *parser) parse(data []byte) (node, bool) {
	p.data, p.pos, p.depth, p.tooDeep = data, 0, 0, false
	p.pool, p.stack, p.text = p.pool[:0], p.stack[:0], p.text[:0]
	p.skipWS()
	n, ok := p.value()
	if !ok {
		return node{}, false
	}
	p.skipWS()
	return n, p.pos == len(p.data)
}

func (p *parser) skipWS() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() (node, bool) {
	if p.pos >= len(p.data) {
		return node{}, false
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		start := p.pos
		if _, ok := p.str(); !ok {
			return node{}, false
		}
		return node{typ: tString, raw: p.data[start:p.pos]}, true
	case c == 't':
		return p.literal("true", tTrue)
	case c == 'f':
		return p.literal("false", tFalse)
	case c == 'n':
		return p.literal("null", tNull)
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		end, ok := scanNumber(p.data, p.pos)
		if !ok {
			return node{}, false
		}
		p.pos = end
		return node{typ: tNumber, raw: p.data[start:end]}, true
	}
	return node{}, false
}

func (p *parser) literal(word string, t vtype) (node, bool) {
	end := p.pos + len(word)
	if end > len(p.data) || string(p.data[p.pos:end]) != word {
		return node{}, false
	}
	n := node{typ: t, raw: p.data[p.pos:end]}
	p.pos = end
	return n, true
}

// str scans a string starting at its opening quote and reports whether it
// held an escape.
func (p *parser) str() (escaped, ok bool) {
	end, escaped, ok := scanString(p.data, p.pos)
	p.pos = end
	return escaped, ok
}

func (p *parser) enter() bool {
	p.depth++
	if p.depth > maxParseDepth {
		p.tooDeep = true
		return false
	}
	return true
}

func (p *parser) object() (node, bool) {
	if !p.enter() {
		return node{}, false
	}
	p.pos++
	base := len(p.stack)
	var index map[string]int
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		return node{typ: tObject}, true
	}
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return node{}, false
		}
		kstart := p.pos
		escaped, ok := p.str()
		if !ok {
			return node{}, false
		}
		key := p.data[kstart+1 : p.pos-1 : p.pos-1]
		if escaped {
			start := len(p.text)
			p.text = appendUnescaped(p.text, key)
			key = p.text[start:len(p.text):len(p.text)]
		}
		p.skipWS()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return node{}, false
		}
		p.pos++
		p.skipWS()
		v, ok := p.value()
		if !ok {
			return node{}, false
		}
		// Duplicate keys: the last value wins at the first position. Large
		// objects switch from a scan to a map to stay linear.
		dup := -1
		if index != nil {
			if i, ok := index[string(key)]; ok {
				dup = i
			}
		} else {
			for i := base; i < len(p.stack); i++ {
				if string(p.stack[i].key) == string(key) {
					dup = i
					break
				}
			}
		}
		if dup >= 0 {
			p.stack[dup].val = v
		} else {
			p.stack = append(p.stack, member{key: key, val: v})
			if index != nil {
				index[string(key)] = len(p.stack) - 1
			} else if len(p.stack)-base > indexThreshold {
				index = make(map[string]int, 2*indexThreshold)
				for i := base; i < len(p.stack); i++ {
					index[string(p.stack[i].key)] = i
				}
			}
		}
		p.skipWS()
		if p.pos >= len(p.data) {
			return node{}, false
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.skipWS()
			continue
		case '}':
			p.pos++
			p.depth--
			return node{typ: tObject, kids: p.commit(base)}, true
		}
		return node{}, false
	}
}

func (p *parser) array() (node, bool) {
	if !p.enter() {
		return node{}, false
	}
	start := p.pos
	p.pos++
	base := len(p.stack)
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return node{typ: tArray, raw: p.data[start:p.pos:p.pos]}, true
	}
	for {
		v, ok := p.value()
		if !ok {
			return node{}, false
		}
		p.stack = append(p.stack, member{val: v})
		p.skipWS()
		if p.pos >= len(p.data) {
			return node{}, false
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.skipWS()
			continue
		case ']':
			p.pos++
			p.depth--
			return node{typ: tArray, raw: p.data[start:p.pos:p.pos], kids: p.commit(base)}, true
		}
		return node{}, false
	}
}

// commit moves the members above base from the stack to the pool and
// returns them. Slices handed out earlier stay valid when the pool grows:
// they keep the old backing array.
func (p *parser) commit(base int) []member {
	start := len(p.pool)
	p.pool = append(p.pool, p.stack[base:]...)
	clear(p.stack[base:])
	p.stack = p.stack[:base]
	return p.pool[start:len(p.pool):len(p.pool)]
}

// scanNumber returns the end of the JSON number starting at i.
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return i, false
		}
	}
	return i, true
}

// scanString returns the end (past the closing quote) of the JSON string
// whose opening quote is at i, and whether it held an escape.
func scanString(b []byte, i int) (end int, escaped, ok bool) {
	i++
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, escaped, true
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return i, escaped, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return i, escaped, false
				}
				for _, h := range b[i+2 : i+6] {
					if hexVal(h) < 0 {
						return i, escaped, false
					}
				}
				i += 6
			default:
				return i, escaped, false
			}
		case c < 0x20:
			return i, escaped, false
		default:
			i++
		}
	}
	return i, escaped, false
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10
	}
	return -1
}

// nextRune decodes the character at s[i] of a valid JSON string body
// (without quotes), resolving escapes and surrogate pairs; a lone surrogate
// decodes to U+FFFD as encoding/json does.
func nextRune(s []byte, i int) (rune, int) {
	c := s[i]
	if c != '\\' {
		if c < utf8.RuneSelf {
			return rune(c), i + 1
		}
		r, n := utf8.DecodeRune(s[i:])
		return r, i + n
	}
	switch s[i+1] {
	case 'b':
		return '\b', i + 2
	case 'f':
		return '\f', i + 2
	case 'n':
		return '\n', i + 2
	case 'r':
		return '\r', i + 2
	case 't':
		return '\t', i + 2
	case 'u':
		r := hex4(s[i+2 : i+6])
		i += 6
		if utf16.IsSurrogate(r) {
			if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
				if d := utf16.DecodeRune(r, hex4(s[i+2:i+6])); d != utf8.RuneError {
					return d, i + 6
				}
			}
			return utf8.RuneError, i
		}
		return r, i
	}
	return rune(s[i+1]), i + 2
}

func hex4(h []byte) rune {
	return hexVal(h[0])<<12 | hexVal(h[1])<<8 | hexVal(h[2])<<4 | hexVal(h[3])
}

// appendUnescaped appends the decoded text of a valid JSON string body.
func appendUnescaped(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		var r rune
		r, i = nextRune(s, i)
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// skipValue returns the end of the JSON value starting at i (no leading
// whitespace), validating it without building anything.
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) || depth > maxParseDepth {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, ok := scanString(b, i)
		return end, ok
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, true
		}
		for {
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return i, false
				}
				end, _, ok := scanString(b, i)
				if !ok {
					return end, false
				}
				i = skipWS(b, end)
				if i >= len(b) || b[i] != ':' {
					return i, false
				}
				i = skipWS(b, i+1)
			}
			end, ok := skipValue(b, i, depth+1)
			if !ok {
				return end, false
			}
			i = skipWS(b, end)
			if i >= len(b) {
				return i, false
			}
			if b[i] == closer {
				return i + 1, true
			}
			if b[i] != ',' {
				return i, false
			}
			i = skipWS(b, i+1)
		}
	case c == 't':
		return skipWord(b, i, "true")
	case c == 'f':
		return skipWord(b, i, "false")
	case c == 'n':
		return skipWord(b, i, "null")
	}
	return scanNumber(b, i)
}

func skipWord(b []byte, i int, w string) (int, bool) {
	if i+len(w) <= len(b) && string(b[i:i+len(w)]) == w {
		return i + len(w), true
	}
	return i, false
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
