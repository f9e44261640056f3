package shadow

import (
	"bytes"
	"math/big"
	"strings"
)

// equalValue reports whether two values are equal as JSON values: objects
// regardless of member order, arrays element by element, numbers by exact
// decimal value, strings by decoded text.
func equalValue(a, b *node) bool {
	if a.typ != b.typ {
		return false
	}
	switch a.typ {
	case tNull, tTrue, tFalse:
		return true
	case tNumber:
		return bytes.Equal(a.raw, b.raw) || equalNumber(a.raw, b.raw)
	case tString:
		if bytes.Equal(a.raw, b.raw) {
			return true
		}
		// Without escapes, different bytes are different text.
		return (bytes.IndexByte(a.raw, '\\') >= 0 || bytes.IndexByte(b.raw, '\\') >= 0) && equalString(a.raw, b.raw)
	case tArray:
		if bytes.Equal(a.raw, b.raw) {
			return true
		}
		if a.kids != nil && b.kids != nil {
			return equalElements(a.kids, b.kids)
		}
		return equalJSON(a.raw, b.raw)
	}
	if len(a.kids) != len(b.kids) {
		return false
	}
	for i := range a.kids {
		j := b.find(a.kids[i].key, i)
		if j < 0 || !equalValue(&a.kids[i].val, &b.kids[j].val) {
			return false
		}
	}
	return true
}

func equalElements(a, b []member) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equalValue(&a[i].val, &b[i].val) {
			return false
		}
	}
	return true
}

// equalJSON compares two JSON texts by value; it parses both, so it is the
// slow path taken only for arrays whose texts differ.
func equalJSON(a, b []byte) bool {
	var pa, pb parser
	na, oka := pa.parse(a)
	nb, okb := pb.parse(b)
	if !oka || !okb {
		return false
	}
	if na.typ == tArray && nb.typ == tArray {
		return equalElements(na.kids, nb.kids)
	}
	return equalValue(&na, &nb)
}

// equalString compares two JSON string literals (with quotes) by their
// decoded text.
func equalString(a, b []byte) bool {
	a, b = a[1:len(a)-1], b[1:len(b)-1]
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		var ra, rb rune
		ra, i = nextRune(a, i)
		rb, j = nextRune(b, j)
		if ra != rb {
			return false
		}
	}
	return i == len(a) && j == len(b)
}

// decimal is a JSON number split for exact comparison: its value is the
// digit sequence intp+frac times 10^(exp-len(frac)).
type decimal struct {
	neg        bool
	intp, frac []byte
	exp        int64
	expText    []byte // the exponent as written, sign included
}

func (d *decimal) digits() int { return len(d.intp) + len(d.frac) }

func (d *decimal) digit(k int) byte {
	if k < len(d.intp) {
		return d.intp[k]
	}
	return d.frac[k-len(d.intp)]
}

// significant returns the first and one-past-last non-zero digit positions
// (first == last when the number is zero).
func (d *decimal) significant() (first, last int) {
	n := d.digits()
	for first < n && d.digit(first) == '0' {
		first++
	}
	last = n
	for last > first && d.digit(last-1) == '0' {
		last--
	}
	return first, last
}

// splitNumber splits a valid JSON number.
func splitNumber(raw []byte) decimal {
	var d decimal
	i := 0
	if raw[0] == '-' {
		d.neg = true
		i++
	}
	s := i
	for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
		i++
	}
	d.intp = raw[s:i]
	if i < len(raw) && raw[i] == '.' {
		i++
		s = i
		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			i++
		}
		d.frac = raw[s:i]
	}
	if i < len(raw) {
		i++
		d.expText = raw[i:]
		neg := false
		if raw[i] == '+' || raw[i] == '-' {
			neg = raw[i] == '-'
			i++
		}
		for ; i < len(raw); i++ {
			if d.exp < hugeExponent {
				d.exp = d.exp*10 + int64(raw[i]-'0')
			}
		}
		if neg {
			d.exp = -d.exp
		}
	}
	return d
}

// hugeExponent is where exponents leave int64 arithmetic for math/big.
const hugeExponent = 1 << 50

// equalScaleBig reports whether expA+offA == expB+offB for exponent texts
// too large for int64 arithmetic.
func equalScaleBig(expA []byte, offA int64, expB []byte, offB int64) bool {
	if len(expA) == 0 {
		expA = []byte("0")
	}
	if len(expB) == 0 {
		expB = []byte("0")
	}
	a, okA := new(big.Int).SetString(strings.TrimPrefix(string(expA), "+"), 10)
	b, okB := new(big.Int).SetString(strings.TrimPrefix(string(expB), "+"), 10)
	if !okA || !okB {
		return false
	}
	a.Add(a, big.NewInt(offA))
	b.Add(b, big.NewInt(offB))
	return a.Cmp(b) == 0
}

// equalNumber compares two valid JSON numbers by exact decimal value.
func equalNumber(a, b []byte) bool {
	if isInteger(a) && isInteger(b) {
		// JSON integers have one spelling each, but for the sign of zero.
		return isZero(a) && isZero(b)
	}
	da, db := splitNumber(a), splitNumber(b)
	fa, la := da.significant()
	fb, lb := db.significant()
	if fa == la || fb == lb {
		return fa == la && fb == lb
	}
	if da.neg != db.neg || la-fa != lb-fb {
		return false
	}
	// The value is 0.d1d2…dn × 10^(position of the first significant digit
	// relative to the decimal point), so compare that scale and the digits.
	offA, offB := int64(len(da.intp)-fa), int64(len(db.intp)-fb)
	if da.exp >= hugeExponent || -da.exp >= hugeExponent || db.exp >= hugeExponent || -db.exp >= hugeExponent {
		if !equalScaleBig(da.expText, offA, db.expText, offB) {
			return false
		}
	} else if da.exp+offA != db.exp+offB {
		return false
	}
	for k := 0; k < la-fa; k++ {
		if da.digit(fa+k) != db.digit(fb+k) {
			return false
		}
	}
	return true
}

// isInteger reports whether a valid JSON number has neither fraction nor
// exponent.
func isInteger(raw []byte) bool {
	for _, c := range raw {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

func isZero(raw []byte) bool { return string(raw) == "0" || string(raw) == "-0" }
