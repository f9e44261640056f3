package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// jsonFrame is one open object or array while walking a document.
type jsonFrame struct {
	object    bool
	keys      map[string]bool
	key       string
	index     int
	expectKey bool
}

// duplicateKey reports the first object key that appears twice in the same
// object of doc, naming its field path. A decoder keeps only the last of
// duplicated keys, so {"Effect":"Deny","Effect":"Allow"} would otherwise
// read as an Allow. doc must already be known to be valid JSON.
func duplicateKey(doc []byte) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	var stack []*jsonFrame
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		if top := stack[len(stack)-1]; top.object {
			top.expectKey = true
		} else {
			top.index++
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectKey {
			top := stack[n-1]
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			key, _ := tok.(string)
			if top.keys[key] {
				return fmt.Errorf("%s: duplicate key; want each key once per object", jsonPath(stack, key))
			}
			top.keys[key] = true
			top.key = key
			top.expectKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &jsonFrame{object: true, keys: map[string]bool{}, expectKey: true})
		case json.Delim('['):
			stack = append(stack, &jsonFrame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// jsonPath renders the path to key inside the innermost open object, such
// as Statement[1].Effect.
func jsonPath(stack []*jsonFrame, key string) string {
	var b strings.Builder
	for i, f := range stack {
		last := i == len(stack)-1
		switch {
		case f.object:
			k := f.key
			if last {
				k = key
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(k)
		case !last:
			fmt.Fprintf(&b, "[%d]", f.index)
		}
	}
	return b.String()
}
