package shadowsvc

import (
	"bytes"
	"encoding/json"
)

// clientTokenKey is the top-level request member echoed in rejections.
var clientTokenKey = []byte("clientToken")

// findClientToken returns the raw JSON string literal (quotes included) of
// the top-level "clientToken" member of payload, without decoding the rest of
// the document. It reports false when payload is not an object, has no such
// member, the member is not a string, or the document is malformed before
// the end of the member's value. When the member repeats, the last one
// counts, as in encoding/json.
func findClientToken(payload []byte) ([]byte, bool) {
	i := skipSpace(payload, 0)
	if i >= len(payload) || payload[i] != '{' {
		return nil, false
	}
	i = skipSpace(payload, i+1)
	if i < len(payload) && payload[i] == '}' {
		return nil, false
	}
	var found []byte
	for {
		if i >= len(payload) || payload[i] != '"' {
			return nil, false
		}
		end, escaped, ok := scanString(payload, i)
		if !ok {
			return nil, false
		}
		isToken := keyIs(payload[i:end], escaped, clientTokenKey)
		i = skipSpace(payload, end)
		if i >= len(payload) || payload[i] != ':' {
			return nil, false
		}
		i = skipSpace(payload, i+1)
		vstart := i
		i, ok = skipValue(payload, i)
		if !ok {
			return nil, false
		}
		if isToken {
			if payload[vstart] == '"' {
				found = payload[vstart:i]
			} else {
				found = nil
			}
		}
		i = skipSpace(payload, i)
		if i >= len(payload) {
			return nil, false
		}
		switch payload[i] {
		case ',':
			i = skipSpace(payload, i+1)
		case '}':
			return found, found != nil
		default:
			return nil, false
		}
	}
}

// keyIs reports whether the string literal lit names key.
func keyIs(lit []byte, escaped bool, key []byte) bool {
	if !escaped {
		return bytes.Equal(lit[1:len(lit)-1], key)
	}
	var s string
	if json.Unmarshal(lit, &s) != nil {
		return false
	}
	return s == string(key)
}

// skipSpace returns the index of the first non-whitespace byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString returns the index just past the string literal starting at
// b[i] == '"', and whether it contains escapes.
func scanString(b []byte, i int) (end int, escaped, ok bool) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, escaped, true
		case c == '\\':
			escaped = true
			j++
		case c < 0x20:
			return 0, false, false
		}
	}
	return 0, false, false
}

// skipValue returns the index just past the JSON value starting at b[i]. It
// skips strings and counts brackets; it does not validate the value.
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		end, _, ok := scanString(b, i)
		return end, ok
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, _, ok := scanString(b, i)
				if !ok {
					return 0, false
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	default:
		start := i
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i, i > start
			}
			i++
		}
		return i, i > start
	}
}

// rejectionToken returns the clientToken of payload to echo in a rejection
// the service makes itself, or "" when the request has no valid one (a
// string of at most maxBytes bytes once decoded).
func rejectionToken(payload []byte, maxBytes int) string {
	lit, ok := findClientToken(payload)
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(lit, &s) != nil || len(s) > maxBytes {
		return ""
	}
	return s
}
