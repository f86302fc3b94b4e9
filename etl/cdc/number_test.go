package cdc

import (
	"bytes"
	"math/big"
	"testing"
)

func ratOf(v any) *big.Rat {
	switch x := v.(type) {
	case int64:
		return new(big.Rat).SetInt64(x)
	case Decimal:
		r := new(big.Rat).SetInt(x.BigUnscaled())
		return r.Quo(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(x.Scale)), nil)))
	}
	return nil
}

// DynamoDB N values parse exactly (compared with big.Rat), or are errors:
// NaN, Infinity, more than 38 significant digits, outside 1E-130…9.99E+125.
func TestParseDynamoNumber(t *testing.T) {
	ok := map[string]string{"0": "0", "-0": "0", "12.50": "25/2", "1E+3": "1000", "1e-130": "", "-9.9999999999999999999999999999999999999E+125": "",
		"123456789012345678901234567890": "123456789012345678901234567890", "0.000001": "1/1000000", "100.0e1": "1000"}
	for s, want := range ok {
		v, _, err := parseDynamoNumber(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		exact, _ := new(big.Rat).SetString(s)
		if ratOf(v).Cmp(exact) != 0 || (want != "" && ratOf(v).RatString() != want) {
			t.Errorf("%s: got %v (%s)", s, v, ratOf(v).RatString())
		}
	}
	for _, s := range []string{"NaN", "Infinity", "-Infinity", "inf", "1e-131", "1E+126", "1e-400", "", "-", "1.", ".5", "0x10", "1e", "+1",
		"1234567890123456789012345678901234567891"} {
		if v, _, err := parseDynamoNumber(s); err == nil {
			t.Errorf("%q accepted as %v", s, v)
		}
	}
	if v, _, _ := parseDynamoNumber("1E+3"); v != int64(1000) {
		t.Errorf("an integral N is an int64: %#v", v)
	}
}

func FuzzParseDynamoNumber(f *testing.F) {
	for _, s := range []string{"0", "12.50", "1E+3", "-1e-130", "NaN", "123456789012345678901234567890", "9.9e125", "00012.3400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, _, err := parseDynamoNumber(s)
		if err != nil {
			return
		}
		exact, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("%q accepted, big.Rat rejects it", s)
		}
		if ratOf(v).Cmp(exact) != 0 {
			t.Fatalf("%q: got %v", s, v)
		}
	})
}

// Numeric keys are exact: equal numbers give equal keys whatever their text
// (7, 7.0, 0.7E1), different numbers different keys (two 30-digit ids), and
// keys of one kind sort numerically.
func FuzzAppendKeyNumber(f *testing.F) {
	f.Add("123456789012345678901234567890", "123456789012345678901234567891")
	f.Add("7", "7.0")
	f.Add("-1.5", "-1.25")
	f.Add("0.7E1", "7")
	f.Add("1e-5", "-0")
	f.Fuzz(func(t *testing.T, a, b string) {
		ka, erra := AppendKeyNumber(nil, a)
		kb, errb := AppendKeyNumber(nil, b)
		ra, oka := new(big.Rat).SetString(a)
		rb, okb := new(big.Rat).SetString(b)
		if erra != nil || errb != nil {
			if erra == nil && !oka || errb == nil && !okb {
				t.Fatalf("accepted a non-number: %q %q", a, b)
			}
			return
		}
		if !oka || !okb {
			return // big.Rat accepts less exotic forms only; nothing to compare
		}
		cmp := ra.Cmp(rb)
		if (cmp == 0) != bytes.Equal(ka, kb) {
			t.Fatalf("%q vs %q: numbers compare %d, keys %x vs %x", a, b, cmp, ka, kb)
		}
		if ka[0] == kb[0] && cmp != 0 && bytes.Compare(ka, kb) != cmp {
			t.Fatalf("%q vs %q: keys sort %d, numbers %d", a, b, bytes.Compare(ka, kb), cmp)
		}
	})
}

func TestAppendKeyNumberRejectsNonNumbers(t *testing.T) {
	for _, s := range []string{"NaN", "Inf", "+Inf", "-Infinity", "0x1p3", "1_000"} {
		if _, err := AppendKeyNumber(nil, s); err == nil {
			t.Errorf("%q accepted as a key number", s)
		}
	}
}
