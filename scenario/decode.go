package scenario

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder walks a YAML node tree and collects every problem it meets.
type decoder struct {
	source string
	errs   Errors
	// seenDecimals and literalDecimals describe the generator parameters
	// last decoded: whether decimals was given, and the most digits after
	// the point among the numbers written.
	seenDecimals    bool
	literalDecimals int
	// metricKeys are the threshold keys, checked against the metrics a run
	// records once the phases and observers are known.
	metricKeys []*yaml.Node
}

// errorf records a problem at node n.
func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	e := &Error{Source: d.source, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// resolve follows aliases to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// kindName names what a node holds, for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unsupported node"
}

// isNull reports whether n is an empty value such as "key:" or "key: null".
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// fields walks the mapping n. Each key must be one of keys and appear once;
// fn receives each known key with its resolved value node. It reports
// whether n was a mapping.
func (d *decoder) fields(n *yaml.Node, path string, keys []string, fn func(key string, k, v *yaml.Node)) bool {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "got %s; want a mapping with keys %s", kindName(n), strings.Join(keys, ", "))
		return false
	}
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "got %s as a key; want one of %s", kindName(k), strings.Join(keys, ", "))
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.errorf(k, join(path, k.Value), "duplicate key (first at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		if !contains(keys, k.Value) {
			if instead, ok := replacedKeys[join(path, k.Value)]; ok {
				d.errorf(k, join(path, k.Value), "key %q is no longer read; write %s", k.Value, instead)
				continue
			}
			d.errorf(k, join(path, k.Value), "unknown key %q%s", k.Value, suggest(k.Value, keys))
			continue
		}
		fn(k.Value, k, v)
	}
	return true
}

// pairs walks the mapping n whose keys are free names, such as payload
// fields or threshold metrics, rejecting duplicates.
func (d *decoder) pairs(n *yaml.Node, path, want string, fn func(k, v *yaml.Node)) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "got %s; want %s", kindName(n), want)
		return
	}
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.errorf(k, path, "got %s as a key; want a name", kindName(k))
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.errorf(k, join(path, k.Value), "duplicate key (first at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		fn(k, v)
	}
}

// list walks the sequence n, calling fn with each resolved item.
func (d *decoder) list(n *yaml.Node, path, want string, fn func(i int, item *yaml.Node)) bool {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "got %s; want a list of %s", kindName(n), want)
		return false
	}
	for i, item := range n.Content {
		fn(i, resolve(item))
	}
	return true
}

// scalar gives the text of a scalar node, or records that it wanted one.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.errorf(n, path, "got %s; want %s", kindName(n), want)
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(n *yaml.Node, path string, dst *string) {
	if s, ok := d.scalar(n, path, "a string"); ok {
		*dst = s
	}
}

// integer decodes a YAML integer no smaller than lo.
func (d *decoder) integer(n *yaml.Node, path string, lo int, dst *int) {
	d.integerIn(n, path, lo, math.MaxInt, dst)
}

// integerIn decodes a YAML integer from lo to hi.
func (d *decoder) integerIn(n *yaml.Node, path string, lo, hi int, dst *int) {
	s, ok := d.scalar(n, path, "a whole number")
	if !ok {
		return
	}
	var v int
	if n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		d.errorf(n, path, "%q: want a whole number", s)
		return
	}
	if v < lo {
		d.errorf(n, path, "%d: want %d or more", v, lo)
		return
	}
	if v > hi {
		d.errorf(n, path, "%d: want at most %d", v, hi)
		return
	}
	*dst = v
}

// number decodes a finite YAML integer or float.
func (d *decoder) number(n *yaml.Node, path string, dst *float64) bool {
	s, ok := d.scalar(n, path, "a number")
	if !ok {
		return false
	}
	var v float64
	if (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		d.errorf(n, path, "%q: want a finite number", s)
		return false
	}
	*dst = v
	return true
}

func (d *decoder) boolean(n *yaml.Node, path string, dst *bool) {
	s, ok := d.scalar(n, path, "true or false")
	if !ok {
		return
	}
	var v bool
	if n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		d.errorf(n, path, "%q: want true or false", s)
		return
	}
	*dst = v
}

// duration decodes a Go duration that must be positive, or non-negative
// when zeroOK.
func (d *decoder) duration(n *yaml.Node, path string, zeroOK bool, dst *time.Duration) {
	d.durationUpTo(n, path, zeroOK, math.MaxInt64, dst)
}

// durationUpTo is duration with an upper bound.
func (d *decoder) durationUpTo(n *yaml.Node, path string, zeroOK bool, hi time.Duration, dst *time.Duration) {
	s, ok := d.scalar(n, path, "a duration such as 10s or 1m30s")
	if !ok {
		return
	}
	v, err := time.ParseDuration(s)
	switch {
	case err != nil || n.ShortTag() != "!!str":
		d.errorf(n, path, "%q: want a duration such as 10s or 1m30s", s)
	case v < 0 || v == 0 && !zeroOK:
		d.errorf(n, path, "%q: want a duration above zero", s)
	case v > hi:
		d.errorf(n, path, "%q: want at most %v", s, hi)
	default:
		*dst = v
	}
}

// rate decodes a rate; it must be positive unless zeroOK.
func (d *decoder) rate(n *yaml.Node, path string, zeroOK bool, dst *Rate) bool {
	s, ok := d.scalar(n, path, "a rate such as 500/s")
	if !ok {
		return false
	}
	v, err := ParseRate(s)
	switch {
	case errors.Is(err, ErrRateRange):
		d.errorf(n, path, "%q: %v", s, ErrRateRange)
		return false
	case err != nil:
		d.errorf(n, path, "%q: want a rate such as 500/s, 30/m or 100/h", s)
		return false
	case v == 0 && !zeroOK:
		d.errorf(n, path, "%q: want a rate above zero", s)
		return false
	}
	*dst = v
	return true
}

// percent decodes a share written as a percentage from 0% to 100%, such as
// 1% or 0.1%, into a fraction.
func (d *decoder) percent(n *yaml.Node, path string, dst *float64) {
	s, ok := d.scalar(n, path, "a percentage such as 1%")
	if !ok {
		return
	}
	num, ok := strings.CutSuffix(strings.TrimSpace(s), "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if !ok || err != nil || !(v >= 0 && v <= 100) {
		d.errorf(n, path, "%q: want a percentage from 0%% to 100%% such as 1%%", s)
		return
	}
	*dst = v / 100
}

// oneOf decodes a string that must be one of choices.
func (d *decoder) oneOf(n *yaml.Node, path string, choices []string) (string, bool) {
	s, ok := d.scalar(n, path, "one of "+strings.Join(choices, ", "))
	if !ok {
		return "", false
	}
	if !contains(choices, s) {
		d.errorf(n, path, "%q: want one of %s%s", s, strings.Join(choices, ", "), suggest(s, choices))
		return "", false
	}
	return s, true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// suggest gives `; did you mean "x"?` for the closest of choices to s, when
// it is close enough to be a likely typo.
func suggest(s string, choices []string) string {
	best, bestDist := "", math.MaxInt
	for _, c := range choices {
		if dist := editDistance(strings.ToLower(s), c); dist < bestDist {
			best, bestDist = c, dist
		}
	}
	if best == "" || bestDist > max(1, min(len(best), len(s))/3) {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance is the Damerau–Levenshtein distance (with adjacent
// transpositions) between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// replacedKeys are keys earlier scenario files used, by path, with what to
// write instead.
var replacedKeys = map[string]string{
	"fleet.clean_start": "fleet.session: clean (for clean_start: true) or persistent (for clean_start: false)",
}
