package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

func trimSpace(raw []byte) []byte { return bytes.TrimSpace(raw) }

// kindOf names the JSON type of a syntactically valid value.
func kindOf(raw []byte) string {
	raw = trimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// object decodes a JSON object found at path.
func object(raw json.RawMessage, path string) (map[string]json.RawMessage, error) {
	if k := kindOf(raw); k != "object" {
		return nil, fmt.Errorf("%s: want an object, got %s", path, k)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// str decodes a JSON string found at path.
func str(raw json.RawMessage, path string) (string, error) {
	if k := kindOf(raw); k != "string" {
		return "", fmt.Errorf("%s: want a string, got %s", path, k)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// stringOrList decodes a string or a non-empty list of strings found at
// path, and returns each string with its own path.
func stringOrList(raw json.RawMessage, path string) ([]string, []string, error) {
	switch k := kindOf(raw); k {
	case "string":
		s, err := str(raw, path)
		if err != nil {
			return nil, nil, err
		}
		return []string{s}, []string{path}, nil
	case "array":
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(items) == 0 {
			return nil, nil, fmt.Errorf("%s: want a string or a non-empty list of strings, got an empty list", path)
		}
		strs := make([]string, len(items))
		paths := make([]string, len(items))
		for i, item := range items {
			paths[i] = fmt.Sprintf("%s[%d]", path, i)
			s, err := str(item, paths[i])
			if err != nil {
				return nil, nil, err
			}
			strs[i] = s
		}
		return strs, paths, nil
	default:
		return nil, nil, fmt.Errorf("%s: want a string or a list of strings, got %s", path, k)
	}
}

// syntaxError locates a JSON syntax error in doc by line and column (both
// from 1, the column in bytes).
func syntaxError(doc []byte, err error) error {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return &ParseError{err: err}
	}
	off := int(se.Offset)
	if off > 0 {
		off--
	}
	if off > len(doc) {
		off = len(doc)
	}
	line := 1 + bytes.Count(doc[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(doc[:off], '\n')
	return &ParseError{Line: line, Column: col, err: se}
}
