package shadow

import (
	"fmt"
	"strconv"
)

// Reply is the top-level fields of a shadow reply document (accepted,
// rejected, delta or documents) read without decoding nested state.
type Reply struct {
	ClientToken string
	Version     int64 // for update/documents, the version of "current"
	Timestamp   int64
	Code        int    // rejected documents only
	Message     string // rejected documents only
	State       []byte // raw JSON of "state" when present (aliases the payload)
}

// ParseReply parses a reply document's top-level fields. It validates the
// whole document as JSON and fails when it is not an object or a known field
// has the wrong type.
func ParseReply(payload []byte) (Reply, error) {
	var r Reply
	i := skipWS(payload, 0)
	if i >= len(payload) || payload[i] != '{' {
		return r, fmt.Errorf("shadow reply: byte %d: want a JSON object", i)
	}
	hasVersion := false
	err := eachMember(payload, i, func(key []byte, v int, end int) error {
		val := payload[v:end]
		var err error
		switch string(key) {
		case "clientToken":
			r.ClientToken, err = replyString(val)
		case "message":
			r.Message, err = replyString(val)
		case "version":
			r.Version, err = replyInt(val)
			hasVersion = true
		case "timestamp":
			r.Timestamp, err = replyInt(val)
		case "code":
			var c int64
			c, err = replyInt(val)
			r.Code = int(c)
		case "state":
			r.State = val
		case "current":
			if !hasVersion && val[0] == '{' {
				err = eachMember(payload, v, func(k []byte, cv, cend int) error {
					if string(k) != "version" {
						return nil
					}
					var e error
					r.Version, e = replyInt(payload[cv:cend])
					return e
				})
			}
		default:
			return nil
		}
		if err != nil {
			return fmt.Errorf("shadow reply: field %q at byte %d: %w", key, v, err)
		}
		return nil
	})
	if err != nil {
		return Reply{}, err
	}
	return r, nil
}

// eachMember walks the object at b[i] calling fn with each decoded key and
// the span of its value, then checks that nothing but whitespace follows
// when the object is the whole document (i is its first non-space byte).
func eachMember(b []byte, i int, fn func(key []byte, v, end int) error) error {
	whole := skipWS(b, 0) == i
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return fmt.Errorf("shadow reply: byte %d: want a member name", i)
			}
			end, escaped, ok := scanString(b, i)
			if !ok {
				return fmt.Errorf("shadow reply: byte %d: invalid string", i)
			}
			key := b[i+1 : end-1]
			if escaped {
				key = appendUnescaped(nil, key)
			}
			i = skipWS(b, end)
			if i >= len(b) || b[i] != ':' {
				return fmt.Errorf("shadow reply: byte %d: want ':'", i)
			}
			i = skipWS(b, i+1)
			vend, ok := skipValue(b, i, 1)
			if !ok {
				return fmt.Errorf("shadow reply: byte %d: invalid JSON value", vend)
			}
			if err := fn(key, i, vend); err != nil {
				return err
			}
			i = skipWS(b, vend)
			if i < len(b) && b[i] == ',' {
				i = skipWS(b, i+1)
				continue
			}
			if i < len(b) && b[i] == '}' {
				i++
				break
			}
			return fmt.Errorf("shadow reply: byte %d: want ',' or '}'", i)
		}
	}
	if whole && skipWS(b, i) != len(b) {
		return fmt.Errorf("shadow reply: byte %d: trailing data after the document", i)
	}
	return nil
}

func replyString(v []byte) (string, error) {
	if v[0] != '"' {
		return "", fmt.Errorf("want a string, got %.20s", v)
	}
	s := v[1 : len(v)-1]
	if hasByte(s, '\\') {
		return string(appendUnescaped(nil, s)), nil
	}
	return string(s), nil
}

func replyInt(v []byte) (int64, error) {
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want an integer, got %.20s", v)
	}
	return n, nil
}
