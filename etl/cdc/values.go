package cdc

import (
	"errors"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// LocalTimestamp is a date-time without a time zone (Debezium Timestamp,
// MicroTimestamp), in microseconds since 1970-01-01T00:00:00 of its own
// wall clock: never shifted to or from UTC.
type LocalTimestamp int64

// LocalTimestampNanos is a LocalTimestamp in nanoseconds (NanoTimestamp).
type LocalTimestampNanos int64

// TimeOfDay is a time of day in microseconds since midnight (Debezium
// Time, MicroTime).
type TimeOfDay int64

// TimeOfDayNanos is a time of day in nanoseconds (NanoTime).
type TimeOfDayNanos int64

// Decimal is an exact decimal number: Unscaled × 10^-Scale, with Big set
// (and Unscaled 0) when the unscaled value does not fit an int64.
type Decimal struct {
	Unscaled int64
	Big      *big.Int
	Scale    int32
}

// BigUnscaled returns the unscaled value as a big.Int.
func (d Decimal) BigUnscaled() *big.Int {
	if d.Big != nil {
		return d.Big
	}
	return big.NewInt(d.Unscaled)
}

// IntDigits returns how many digits the integer part needs (0 for |d| < 1).
func (d Decimal) IntDigits() int {
	var n int
	if d.Big != nil {
		n = len(strings.TrimPrefix(d.Big.String(), "-"))
	} else {
		u := d.Unscaled
		if u == 0 {
			return 0
		}
		n = len(strconv.FormatInt(u, 10))
		if u < 0 {
			n--
		}
	}
	return max(n-int(d.Scale), 0)
}

// String renders the exact decimal text.
func (d Decimal) String() string {
	s := d.BigUnscaled().String()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	switch sc := int(d.Scale); {
	case sc > 0:
		if len(s) <= sc {
			s = strings.Repeat("0", sc-len(s)+1) + s
		}
		s = s[:len(s)-sc] + "." + s[len(s)-sc:]
	case sc < 0:
		s += strings.Repeat("0", -sc)
	}
	if neg && strings.Trim(s, "0.") != "" {
		s = "-" + s
	}
	return s
}

// Float64 returns the nearest double.
func (d Decimal) Float64() float64 {
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

// Rescale returns the unscaled value at scale (>= d.Scale) as a big.Int.
func (d Decimal) Rescale(scale int) *big.Int {
	n := new(big.Int).Set(d.BigUnscaled())
	if k := scale - int(d.Scale); k > 0 {
		n.Mul(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(k)), nil))
	}
	return n
}

// Time returns the wall-clock date-time as a time.Time in UTC (the zone is
// only a carrier: the value has none).
func (t LocalTimestamp) Time() time.Time { return time.UnixMicro(int64(t)).UTC() }

var errNumber = errors.New("not a number")

// decimalText is a parsed number: its digits are intPart then frac (from
// the text, not copied), the value is digits × 10^(exp-len(frac)).
type decimalText struct {
	neg           bool
	intPart, frac string
	exp           int
	scale         int // digits after the point (>= 0)
	nDigits       int // significant digits counted from the first non-zero one
}

// parseDecimalText parses a JSON number (-?digits[.digits][(e|E)[+-]digits])
// exactly. NaN, Infinity and anything else are errors.
func parseDecimalText(s string) (decimalText, error) {
	var d decimalText
	i := 0
	if i < len(s) && s[i] == '-' {
		d.neg = true
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return d, errNumber
	}
	d.intPart = s[start:i]
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == fs {
			return d, errNumber
		}
		d.frac = s[fs:i]
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		es := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == es || i-es > 6 {
			return d, errNumber // no exponent digits, or an exponent no decimal type has
		}
		d.exp, _ = strconv.Atoi(s[es:i])
		if eneg {
			d.exp = -d.exp
		}
	}
	if i != len(s) {
		return d, errNumber
	}
	// leading zeros do not count
	lz := 0
	for lz < len(d.intPart)+len(d.frac) && d.digitAt(lz) == '0' {
		lz++
	}
	d.nDigits = len(d.intPart) + len(d.frac) - lz
	d.scale = len(d.frac) - d.exp
	if d.nDigits == 0 {
		d.scale, d.exp = 0, 0
	}
	if d.scale < 0 {
		d.nDigits += min(-d.scale, 1000)
		d.scale = 0
	}
	return d, nil
}

func (d decimalText) digitAt(i int) byte {
	if i < len(d.intPart) {
		return d.intPart[i]
	}
	return d.frac[i-len(d.intPart)]
}

func (d decimalText) intDigits() int { return max(d.nDigits-d.scale, 0) }

// digitString returns the significant digits (with the zeros a positive
// exponent appends).
func (d decimalText) digitString() string {
	var b strings.Builder
	n := len(d.intPart) + len(d.frac)
	lz := 0
	for lz < n && d.digitAt(lz) == '0' {
		lz++
	}
	for i := lz; i < n; i++ {
		b.WriteByte(d.digitAt(i))
	}
	for k := b.Len(); k < d.nDigits; k++ {
		b.WriteByte('0')
	}
	return b.String()
}

func (d decimalText) value() Decimal {
	if d.nDigits <= 18 {
		var u int64
		n := len(d.intPart) + len(d.frac)
		for i := 0; i < n; i++ {
			u = u*10 + int64(d.digitAt(i)-'0')
		}
		for k := 0; k < d.nDigits-(n-countLeadingZeros(d)); k++ {
			u *= 10
		}
		if d.neg {
			u = -u
		}
		return Decimal{Unscaled: u, Scale: int32(d.scale)}
	}
	b, _ := new(big.Int).SetString(d.digitString(), 10)
	if d.neg {
		b.Neg(b)
	}
	return Decimal{Big: b, Scale: int32(d.scale)}
}

func countLeadingZeros(d decimalText) int {
	n := len(d.intPart) + len(d.frac)
	lz := 0
	for lz < n && d.digitAt(lz) == '0' {
		lz++
	}
	return lz
}

// DynamoDB numbers: "up to 38 digits of precision", magnitudes from 1E-130
// to 9.9999999999999999999999999999999999999E+125 (DynamoDB developer
// guide, "Naming rules and data types": Number).
const (
	ddbMaxDigits = 38
	ddbMaxExp    = 125
	ddbMinExp    = -130
)

// parseDynamoNumber parses a DynamoDB N exactly: int64 when it is an
// integer that fits, else a Decimal. NaN, Infinity, more than 38
// significant digits and magnitudes outside DynamoDB's range are errors.
func parseDynamoNumber(s string) (any, decimalText, error) {
	if n, ok := parseInt64([]byte(s)); ok {
		return n, decimalText{}, nil
	}
	d, err := parseDecimalText(s)
	if err != nil {
		return nil, d, errors.New("N " + strconv.Quote(s) + " is not a number")
	}
	if d.nDigits > 0 {
		sig := d.nDigits
		for i := len(d.intPart) + len(d.frac) - 1; i >= 0 && d.digitAt(i) == '0' && sig > 0; i-- {
			sig-- // trailing zeros are not significant
		}
		if d.exp > 0 {
			sig = min(sig, d.nDigits-d.exp)
		}
		if sig > ddbMaxDigits {
			return nil, d, errors.New("N " + strconv.Quote(s) + " has more than 38 significant digits")
		}
		// exponent of the leading digit
		e := d.nDigits - 1 - d.scale
		if e > ddbMaxExp || e < ddbMinExp {
			return nil, d, errors.New("N " + strconv.Quote(s) + " is outside DynamoDB's number range")
		}
	}
	if d.scale == 0 && d.nDigits <= 18 {
		v := d.value()
		return v.Unscaled, decimalText{}, nil // an integer written as 1E+3 or 100.0e1
	}
	return d.value(), d, nil
}
