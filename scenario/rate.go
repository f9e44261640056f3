package scenario

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrRateRange is wrapped by ParseRate's error for a rate above MaxRate.
var ErrRateRange = fmt.Errorf("above %v, the most one run schedules", MaxRate)

// Rate is a number of events per second.
type Rate float64

// rateUnits are the accepted rate units and their length in seconds.
var rateUnits = [...]struct {
	suffix  string
	seconds float64
}{{"/s", 1}, {"/m", 60}, {"/h", 3600}}

// ParseRate parses a rate written as a decimal number of events per second,
// minute or hour: "500/s", "0.5/s", "30/m", "100/h", at most MaxRate.
func ParseRate(s string) (Rate, error) {
	for _, u := range rateUnits {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		if !isDecimal(num) {
			return 0, fmt.Errorf("rate %q: %q is not a decimal number ≥ 0", s, num)
		}
		n, err := strconv.ParseFloat(num, 64)
		if err != nil || math.IsInf(n, 0) || Rate(n/u.seconds) > MaxRate {
			return 0, fmt.Errorf("rate %q: %w", s, ErrRateRange)
		}
		return Rate(n / u.seconds), nil
	}
	return 0, fmt.Errorf("rate %q: want a number per second, minute or hour such as 500/s, 30/m or 100/h", s)
}

// isDecimal reports whether s is digits with an optional fraction: "12", "0.5".
func isDecimal(s string) bool {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) {
		return false
	}
	return !dot || (frac != "" && allDigits(frac))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String writes the rate in the unit that gives a whole number when there is
// one, seconds first ("100/s", "1/m"); otherwise per second in the shortest
// form that parses back to the same value.
func (r Rate) String() string {
	v := float64(r)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64) + "/s"
	}
	for _, u := range rateUnits {
		n := v * u.seconds
		if n < 1e15 && n == math.Trunc(n) {
			return strconv.FormatFloat(n, 'f', -1, 64) + u.suffix
		}
		if w := math.Round(n); w >= 1 && w < 1e15 && math.Abs(n-w) <= 1e-9*w && Rate(w/u.seconds) == r {
			return strconv.FormatFloat(w, 'f', -1, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + "/s"
}

func itoa(i int) string { return strconv.Itoa(i) }
