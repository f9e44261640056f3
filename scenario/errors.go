package scenario

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a scenario, with its position:
//
//	scenarios/x.yaml:12:7: phases[0].rate: "fast": want a rate such as 500/s
type Error struct {
	// Source is the file name, or a description such as "command line".
	Source string
	// Line and Column locate the problem, from 1; zero when unknown.
	Line, Column int
	// Field is the path of the key, such as phases[0].rate; empty for the
	// file as a whole.
	Field string
	// Msg says what is wrong and what was expected.
	Msg string
}

// Error formats the problem as source:line:column: field: message.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Column))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a scenario, in file order.
type Errors []*Error

// Error joins the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives the problems as errors, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sortErrors orders problems by position, keeping the order of equals.
func sortErrors(es Errors) {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}
