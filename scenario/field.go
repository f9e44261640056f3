package scenario

import (
	"math"
	"strconv"
)

// FieldKind is how a payload field's values are generated.
type FieldKind int

// The field generators.
const (
	// FieldFloat draws uniformly from Min to Max, written with Decimals
	// digits after the point.
	FieldFloat FieldKind = iota + 1
	// FieldInt draws a whole number uniformly from Min to Max inclusive.
	FieldInt
	// FieldCounter counts per thing: Start, Start+Step, …
	FieldCounter
	// FieldWalk is a random walk per thing: it begins at Start and moves up
	// or down by Step each time, kept within Min to Max.
	FieldWalk
	// FieldChoice picks one of Choices uniformly.
	FieldChoice
	// FieldString writes Bytes random characters from [A-Za-z0-9_-].
	FieldString
	// FieldBool is true or false with equal odds.
	FieldBool
)

var fieldKindNames = []string{"float", "int", "counter", "walk", "choice", "string", "bool"}

// String gives the generator's name as written in scenario files.
func (k FieldKind) String() string {
	if k >= FieldFloat && int(k) <= len(fieldKindNames) {
		return fieldKindNames[k-1]
	}
	return "FieldKind(" + strconv.Itoa(int(k)) + ")"
}

// Field is one generated field of the update payload.
type Field struct {
	// Name is the JSON key.
	Name string
	// Kind selects the generator; the parameters below apply as it says.
	Kind FieldKind
	// Min and Max bound float, int and walk values.
	Min, Max float64
	// Start and Step drive counter and walk values.
	Start, Step float64
	// Decimals is the number of digits after the point of float and walk
	// values.
	Decimals int
	// Choices are the JSON texts a choice field picks from, such as "eco"
	// with its quotes, 3 or true.
	Choices []string
	// Bytes is the length of string values.
	Bytes int
}

// maxValueLen bounds the JSON length of one value of the field.
func (f Field) maxValueLen() int {
	num := func(v float64, dec int) int {
		return len(strconv.FormatFloat(v, 'f', dec, 64))
	}
	switch f.Kind {
	case FieldFloat, FieldWalk:
		return max(num(f.Min, f.Decimals), num(f.Max, f.Decimals)) + 1
	case FieldInt:
		return max(num(f.Min, 0), num(f.Max, 0))
	case FieldCounter:
		return len(strconv.FormatInt(math.MinInt64, 10))
	case FieldChoice:
		n := 0
		for _, c := range f.Choices {
			n = max(n, len(c))
		}
		return n
	case FieldString:
		return f.Bytes + 2
	case FieldBool:
		return len("false")
	}
	return 0
}

// MaxFieldsBytes bounds the length of the JSON object AppendFields writes.
func (p *Payload) MaxFieldsBytes() int {
	n := 2
	for i, f := range p.Fields {
		if i > 0 {
			n++
		}
		n += len(jsonString(f.Name)) + 1 + f.maxValueLen()
	}
	return n
}
