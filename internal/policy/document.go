package policy

import (
	"encoding/json"
	"fmt"
	"strings"
)

// PolicyVersion is the only policy language version Parse accepts; it is
// the one in which policy variables are substituted.
const PolicyVersion = "2012-10-17"

// effect is what a statement does when it applies.
type effect bool

const (
	allow effect = false
	deny  effect = true
)

// Document is a parsed, compiled policy document. It is immutable and safe
// for concurrent use.
type Document struct {
	statements []statement
}

// statement is one compiled policy statement.
type statement struct {
	effect      effect
	actions     actionMask
	resources   []pattern
	notResource bool
	conditions  []condition
}

// applies reports whether the statement covers the resource sub, assuming
// its action matched. With NotResource, a pattern that has an unresolved
// variable makes the statement not apply at all. ipBlind decides as if the
// client's address did not matter: aws:SourceIp conditions hold for an
// Allow, and a Deny that has one does not apply.
func (st *statement) applies(sub *subject, c *Context, ipBlind bool) bool {
	for i := range st.conditions {
		cd := &st.conditions[i]
		if ipBlind && cd.isIP() {
			if st.effect == deny {
				return false
			}
			continue
		}
		if !cd.holds(c) {
			return false
		}
	}
	if !st.notResource {
		for i := range st.resources {
			if st.resources[i].match(sub, c) {
				return true
			}
		}
		return false
	}
	for i := range st.resources {
		p := &st.resources[i]
		if p.hasVars && !p.resolvable(c) {
			return false
		}
		if p.match(sub, c) {
			return false
		}
	}
	return true
}

// Len returns the number of statements in the document.
func (d *Document) Len() int { return len(d.statements) }

var (
	documentKeys  = []string{"Version", "Statement", "Id"}
	statementKeys = []string{"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)

// Parse parses and compiles a policy document. Every error is a
// *ParseError saying where and what was expected, for example
// `Statement[1].Effect: want "Allow" or "Deny", got "Alow"`, or the JSON
// syntax error with its line and column.
func Parse(doc []byte) (*Document, error) {
	d, err := parse(doc)
	if err != nil {
		if _, ok := err.(*ParseError); ok {
			return nil, err
		}
		return nil, &ParseError{err: err}
	}
	return d, nil
}

func parse(doc []byte) (*Document, error) {
	var top any
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, syntaxError(doc, err)
	}
	if err := duplicateKey(doc); err != nil {
		return nil, err
	}
	fields, err := object(doc, "policy document")
	if err != nil {
		return nil, err
	}
	if err := unknownKeys(fields, documentKeys, "policy document", ""); err != nil {
		return nil, err
	}
	rawVersion, ok := fields["Version"]
	if !ok {
		return nil, fmt.Errorf("%s: missing; want %q", "Version", PolicyVersion)
	}
	version, err := str(rawVersion, "Version")
	if err != nil {
		return nil, err
	}
	if version != PolicyVersion {
		return nil, fmt.Errorf("%s: want %q, got %q", "Version", PolicyVersion, version)
	}
	if raw, ok := fields["Id"]; ok {
		if _, err := str(raw, "Id"); err != nil {
			return nil, err
		}
	}
	rawStatements, ok := fields["Statement"]
	if !ok {
		return nil, fmt.Errorf("%s: missing; want a statement object or a list of them", "Statement")
	}
	var items []json.RawMessage
	var paths []string
	switch k := kindOf(rawStatements); k {
	case "object":
		items, paths = []json.RawMessage{rawStatements}, []string{"Statement"}
	case "array":
		if err := json.Unmarshal(rawStatements, &items); err != nil {
			return nil, fmt.Errorf("%s: %w", "Statement", err)
		}
		if len(items) == 0 {
			return nil, fmt.Errorf("%s: want at least one statement, got an empty list", "Statement")
		}
		for i := range items {
			paths = append(paths, fmt.Sprintf("Statement[%d]", i))
		}
	default:
		return nil, fmt.Errorf("%s: want a statement object or a list of them, got %s", "Statement", k)
	}
	d := &Document{statements: make([]statement, len(items))}
	for i, raw := range items {
		if err := parseStatement(raw, paths[i], &d.statements[i]); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func parseStatement(raw json.RawMessage, path string, st *statement) error {
	fields, err := object(raw, path)
	if err != nil {
		return err
	}
	if err := unknownKeys(fields, statementKeys, "statement", path+"."); err != nil {
		return err
	}
	if raw, ok := fields["Sid"]; ok {
		if _, err := str(raw, path+".Sid"); err != nil {
			return err
		}
	}
	rawEffect, ok := fields["Effect"]
	if !ok {
		return fmt.Errorf("%s.Effect: missing; want \"Allow\" or \"Deny\"", path)
	}
	if kindOf(rawEffect) != "string" {
		return fmt.Errorf("%s.Effect: want \"Allow\" or \"Deny\", got %s", path, kindOf(rawEffect))
	}
	eff, err := str(rawEffect, path+".Effect")
	if err != nil {
		return err
	}
	switch eff {
	case "Allow":
		st.effect = allow
	case "Deny":
		st.effect = deny
	default:
		return fmt.Errorf("%s.Effect: want \"Allow\" or \"Deny\", got %q", path, eff)
	}

	actionKey, err := exactlyOne(fields, path, "Action", "NotAction")
	if err != nil {
		return err
	}
	names, namePaths, err := stringOrList(fields[actionKey], path+"."+actionKey)
	if err != nil {
		return err
	}
	for i, name := range names {
		m, err := compileAction(name)
		if err != nil {
			return fmt.Errorf("%s: %w", namePaths[i], err)
		}
		st.actions |= m
	}
	if actionKey == "NotAction" {
		st.actions = allActions &^ st.actions
	}

	resourceKey, err := exactlyOne(fields, path, "Resource", "NotResource")
	if err != nil {
		return err
	}
	st.notResource = resourceKey == "NotResource"
	res, resPaths, err := stringOrList(fields[resourceKey], path+"."+resourceKey)
	if err != nil {
		return err
	}
	st.resources = make([]pattern, len(res))
	for i, r := range res {
		if r != "*" && !strings.HasPrefix(r, "arn:") {
			return fmt.Errorf("%s: want \"*\" or an ARN such as \"arn:aws:iot:*:*:topic/NAME\", got %q", resPaths[i], r)
		}
		if st.resources[i], err = compilePattern(r, patternOptions{glob: true, vars: true}); err != nil {
			return fmt.Errorf("%s: %w", resPaths[i], err)
		}
	}

	if raw, ok := fields["Condition"]; ok {
		if st.conditions, err = parseConditions(raw, path+".Condition"); err != nil {
			return err
		}
	}
	return nil
}

// exactlyOne returns which one of the keys a and b is present.
func exactlyOne(fields map[string]json.RawMessage, path, a, b string) (string, error) {
	_, hasA := fields[a]
	_, hasB := fields[b]
	switch {
	case hasA && hasB:
		return "", fmt.Errorf("%s: has both %s and %s; want exactly one", path, a, b)
	case hasA:
		return a, nil
	case hasB:
		return b, nil
	}
	return "", fmt.Errorf("%s.%s: missing; want %s or %s", path, a, a, b)
}

// unknownKeys rejects the first key, in sorted order, that is not allowed.
func unknownKeys(fields map[string]json.RawMessage, allowed []string, what, prefix string) error {
	for _, k := range sortedKeys(fields) {
		known := false
		for _, a := range allowed {
			known = known || k == a
		}
		if !known {
			return fmt.Errorf("%s%s: unknown %s key; want one of %s", prefix, k, what, strings.Join(allowed, ", "))
		}
	}
	return nil
}
