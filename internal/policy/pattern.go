package policy

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

type tokenKind uint8

const (
	tokLiteral tokenKind = iota
	tokVariable
	tokStar
	tokQuestion
)

// token is one compiled element of a pattern.
type token struct {
	kind tokenKind
	v    variable
	// lit is the literal text, or the attribute name of a varAttribute.
	lit string
}

// pattern is a compiled resource or condition pattern.
type pattern struct {
	text    string
	toks    []token
	hasVars bool
}

// patternOptions says how compilePattern reads its text.
type patternOptions struct {
	// glob makes `*` and `?` wildcards; otherwise they are literal.
	glob bool
	// vars makes ${...} policy variables; otherwise `$` is literal.
	vars bool
}

// variableNames lists the policy variables by their IAM spelling.
var variableNames = []struct {
	name string
	v    variable
}{
	{"iot:ClientId", varClientID},
	{"iot:Connection.Thing.ThingName", varThingName},
	{"iot:Connection.Thing.ThingTypeName", varThingTypeName},
	{"iot:Certificate.Subject.CommonName", varCommonName},
}

const attributePrefix = "iot:Connection.Thing.Attributes["

// compilePattern turns text into tokens. Adjacent literals are merged and a
// run of stars becomes one star. Errors give the byte offset in text.
func compilePattern(text string, o patternOptions) (pattern, error) {
	p := pattern{text: text}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.toks = append(p.toks, token{kind: tokLiteral, lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case o.glob && c == '*':
			flush()
			if n := len(p.toks); n == 0 || p.toks[n-1].kind != tokStar {
				p.toks = append(p.toks, token{kind: tokStar})
			}
			i++
		case o.glob && c == '?':
			flush()
			p.toks = append(p.toks, token{kind: tokQuestion})
			i++
		case o.vars && c == '$' && strings.HasPrefix(text[i:], "${"):
			end := strings.IndexByte(text[i:], '}')
			if end < 0 {
				return pattern{}, fmt.Errorf("unterminated variable at byte %d of %q: want ${NAME}", i, text)
			}
			name := text[i+2 : i+end]
			switch name {
			case "*", "?", "$":
				lit.WriteString(name)
			default:
				t, err := variableToken(name)
				if err != nil {
					return pattern{}, fmt.Errorf("variable at byte %d of %q: %w", i, text, err)
				}
				flush()
				p.toks = append(p.toks, t)
				p.hasVars = true
			}
			i += end + 1
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return p, nil
}

func variableToken(name string) (token, error) {
	for _, vn := range variableNames {
		if strings.EqualFold(name, vn.name) {
			return token{kind: tokVariable, v: vn.v}, nil
		}
	}
	if len(name) > len(attributePrefix) && strings.EqualFold(name[:len(attributePrefix)], attributePrefix) && strings.HasSuffix(name, "]") {
		attr := name[len(attributePrefix) : len(name)-1]
		if attr != "" {
			return token{kind: tokVariable, v: varAttribute, lit: attr}, nil
		}
	}
	want := make([]string, 0, len(variableNames)+1)
	for _, vn := range variableNames {
		want = append(want, vn.name)
	}
	want = append(want, attributePrefix+"NAME]")
	return token{}, fmt.Errorf("unknown variable ${%s}: want one of %s, or ${*}, ${?}, ${$}", name, strings.Join(want, ", "))
}

// match reports whether the pattern matches all of s, with variables
// resolved from c. A variable that resolves to "" makes it match nothing.
// Literals and variable values compare bytewise; `?` and each step of `*`
// consume one character. The last star is the only backtracking point: since
// every other token consumes a fixed number of characters, the leftmost
// placement of what follows a star is always the one to keep.
func (p *pattern) match(s *subject, c *Context) bool {
	toks := p.toks
	if p.hasVars && !p.resolvable(c) {
		return false
	}
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < s.size {
		if pi < len(toks) {
			t := &toks[pi]
			switch t.kind {
			case tokStar:
				if pi == len(toks)-1 {
					return true
				}
				starP, starS = pi, si
				pi++
				continue
			case tokQuestion:
				si += s.charWidth(si)
				pi++
				continue
			default:
				lit := t.lit
				if t.kind == tokVariable {
					lit = c.resolve(t.v, t.lit)
				}
				if s.hasAt(si, lit) {
					si += len(lit)
					pi++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starS += s.charWidth(starS)
		if lit := p.literalAfter(starP, c); lit != "" && utf8.RuneStart(lit[0]) {
			// A literal that starts a character can only match where its first
			// byte occurs, and such a byte always begins a character.
			next := s.indexByte(starS, lit[0])
			if next < 0 {
				return false
			}
			starS = next
		}
		si = starS
		pi = starP + 1
	}
	for pi < len(toks) && toks[pi].kind == tokStar {
		pi++
	}
	return pi == len(toks)
}

// resolvable reports whether every variable of the pattern has a value in c.
func (p *pattern) resolvable(c *Context) bool {
	for i := range p.toks {
		if p.toks[i].kind == tokVariable && c.resolve(p.toks[i].v, p.toks[i].lit) == "" {
			return false
		}
	}
	return true
}

// literalAfter returns the text of the token after token i when it is a
// literal or a resolved variable, or "".
func (p *pattern) literalAfter(i int, c *Context) string {
	if i+1 >= len(p.toks) {
		return ""
	}
	switch t := &p.toks[i+1]; t.kind {
	case tokLiteral:
		return t.lit
	case tokVariable:
		return c.resolve(t.v, t.lit)
	}
	return ""
}
