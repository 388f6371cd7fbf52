package value

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MoneyScale is the number of Money units in one currency unit. Four decimal places cover
// every ISO 4217 currency (the most precise use three) and keep sums exact in int64 up to
// ±922 billion currency units.
const MoneyScale = 10000

// Money is an exact decimal amount in 1/10,000 of a currency unit. Amounts are parsed from
// text straight into this fixed-point form so that sums over millions of orders do not drift
// the way float64 sums do.
type Money int64

// Float returns the amount in currency units.
func (m Money) Float() float64 { return float64(m) / MoneyScale }

// String formats the amount with up to four decimals and no trailing zeros.
func (m Money) String() string {
	return strconv.FormatFloat(m.Float(), 'f', -1, 64)
}

// MoneyFromFloat converts currency units to Money, rounding to the nearest unit of 1/10,000.
func MoneyFromFloat(f float64) Money { return Money(math.Round(f * MoneyScale)) }

// ParseMoney parses a decimal such as "1234.5", "-3", "0.0001" or "1 234,50" (spaces as
// thousands separators and a comma as the decimal mark are accepted, as Russian exports
// write them). More than four decimals, exponents, and anything else are errors.
func ParseMoney(s string) (Money, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty amount")
	}
	if strings.ContainsAny(s, " \u00a0") {
		s = strings.NewReplacer(" ", "", "\u00a0", "").Replace(s)
	}
	if !strings.Contains(s, ".") && strings.Count(s, ",") == 1 {
		s = strings.Replace(s, ",", ".", 1)
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("amount %q is not a number", orig)
	}
	if len(frac) > 4 {
		return 0, fmt.Errorf("amount %q has more than 4 decimals", orig)
	}
	var v int64
	for _, c := range intPart {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("amount %q is not a number", orig)
		}
		if v > (math.MaxInt64-9)/10 {
			return 0, fmt.Errorf("amount %q is too large", orig)
		}
		v = v*10 + int64(c-'0')
	}
	if v > math.MaxInt64/MoneyScale {
		return 0, fmt.Errorf("amount %q is too large", orig)
	}
	v *= MoneyScale
	mul := int64(MoneyScale / 10)
	for _, c := range frac {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("amount %q is not a number", orig)
		}
		d := int64(c-'0') * mul
		if v > math.MaxInt64-d { // the fraction can push a maximal whole part past int64
			return 0, fmt.Errorf("amount %q is too large", orig)
		}
		v += d
		mul /= 10
	}
	if neg {
		v = -v
	}
	return Money(v), nil
}
