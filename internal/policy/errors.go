package policy

import "fmt"

// ParseError is the error Parse returns for every malformed document. Its
// text names where the problem is and what was expected: the field path for
// a document that is JSON but not a valid policy, such as
// `Statement[1].Effect: want "Allow" or "Deny", got "Alow"`, or the line
// and column of a JSON syntax error.
type ParseError struct {
	// Line and Column locate a JSON syntax error, both counted from 1
	// (Column in bytes); both are 0 for errors in a field.
	Line, Column int
	err          error
}

// Error returns the description, prefixed with "line L, column C: " for a
// JSON syntax error.
func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d, column %d: %v", e.Line, e.Column, e.err)
	}
	return e.err.Error()
}

// Unwrap returns the underlying error, a *json.SyntaxError for syntax errors.
func (e *ParseError) Unwrap() error { return e.err }
