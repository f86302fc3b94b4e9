package cdc

import (
	"fmt"
	"strings"
	"testing"
)

// checkSkipBlocks: whenever skipBlocks answers, the byte-by-byte scan gives
// the same end.
func checkSkipBlocks(t *testing.T, b []byte) (answered bool) {
	t.Helper()
	if len(b) == 0 || (b[0] != '{' && b[0] != '[') {
		return false
	}
	want, werr := skipContainerBytes(b, 0)
	got, ok := skipBlocks(b, 0)
	if !ok {
		return false
	}
	if werr != nil || got != want {
		t.Fatalf("skipBlocks(%q) = %d, byte scan = %d, %v", b, got, want, werr)
	}
	return true
}

func TestSkipBlocksAgreesWithTheByteScan(t *testing.T) {
	if !haveBlockMasks {
		t.Skip("no AVX2: skipBlocks is not used")
	}
	pad := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name   string
		in     string
		answer bool // skipBlocks must answer (not give up)
	}{
		{"short object", `{"a":1}`, true},
		{"followed by more records", `{"a":1}{"b":2}` + pad(100), true},
		{"nested, across blocks", `{"a":{"b":[1,2,{"c":"` + pad(70) + `"}]},"d":[[[]]]}`, true},
		{"brackets inside strings", `{"a":"}]{[","b":"` + pad(60) + `}}}"}`, true},
		{"escaped quote at a block boundary", `{"a":"` + pad(57) + `\"` + pad(10) + `"}`, true},
		{"backslash last in a block", `{"a":"` + pad(57) + `\\` + `\"x"}`, true},
		{"even backslash run before a quote", `{"a":"` + pad(56) + `\\\\"}` + pad(80), true},
		{"odd backslash runs", `{"a":"\\\\\"}","b":"\\\\\\\\"}`, true},
		{"string spanning three blocks", `{"a":"` + pad(150) + `"}`, true},
		{"array", `[1,"]",[2,[3]],{"x":"]"}]`, true},
		{"unterminated string", `{"a":"` + pad(100), false},
		{"unterminated object", `{"a":{"b":1}`, false},
		{"control byte in a string", "{\"a\":\"x\ny\"}", false},
		{"backslash outside a string", `{"a":1\}`, false},
		{"whitespace outside strings", "{\n\t\"a\" : [ 1 ,\r\n 2 ] }", true},
		{"utf-8", `{"naïve":"日本語` + pad(60) + `"}`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for shift := 0; shift < 64; shift += 7 { // every alignment against the blocks
				b := []byte(strings.Repeat(" ", shift) + tc.in)
				want, werr := skipContainerBytes(b, shift)
				got, ok := skipBlocks(b, shift)
				if ok != tc.answer {
					t.Fatalf("shift %d: answered %v, want %v", shift, ok, tc.answer)
				}
				if ok && (werr != nil || got != want) {
					t.Fatalf("shift %d: skipBlocks = %d, byte scan = %d, %v", shift, got, want, werr)
				}
				// skipContainer itself always agrees, answered or not.
				e1, err1 := skipContainer(b, shift)
				if e1 != want || (err1 == nil) != (werr == nil) {
					t.Fatalf("shift %d: skipContainer = %d, %v; byte scan = %d, %v", shift, e1, err1, want, werr)
				}
			}
		})
	}
}

func FuzzSkipBlocks(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, `{"a":"\\\"}"}`, `[{"b":[1,{"c":"]"}]}]`, `{"a":"x\ty"}`,
		`{"pk":{"S":"k1"},"tags":{"L":[{"S":"promo"}]},"attrs":{"M":{"w":{"N":"1.5"}}}}`,
		`{"a":"` + strings.Repeat(`\\`, 33) + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !haveBlockMasks {
			t.Skip()
		}
		checkSkipBlocks(t, b)
	})
}

type member struct{ key, val string }

// walkGeneric walks the object at b[0] with objIter, the reference for
// walkFlat.
func walkGeneric(b []byte) ([]member, int, error) {
	var it objIter
	if err := it.open(b, 0); err != nil {
		return nil, 0, err
	}
	var out []member
	for {
		k, vs, done, err := it.next()
		if err != nil {
			return nil, 0, err
		}
		if done {
			return out, it.i, nil
		}
		ve, err := skipValue(b, vs)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, member{string(k), string(b[vs:ve])})
		it.i = ve
	}
}

// checkWalkFlat: whenever walkFlat answers, objIter walks the same members
// to the same end.
func checkWalkFlat(t *testing.T, b []byte) bool {
	t.Helper()
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	var got []member
	end, ok := walkFlat(b, 0, func(k, v []byte) { got = append(got, member{string(k), string(v)}) })
	if !ok {
		return false
	}
	want, wend, err := walkGeneric(b)
	if err != nil || wend != end || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("walkFlat(%q) = %v, %d; objIter: %v, %d, %v", b, got, end, want, wend, err)
	}
	return true
}

func TestWalkFlatAgreesWithObjIter(t *testing.T) {
	for _, tc := range []struct {
		in     string
		answer bool
	}{
		{`{}`, true},
		{`{"a":1}`, true},
		{`{"version":"2.7.3.Final","connector":"postgresql","ts_ms":1709251200000,"snapshot":"false","sequence":null,"txId":1000,"lsn":7202914228,"xmin":null,"ok":true,"no":false,"f":-1.5e+3}` + `{"next":1}`, true},
		{`{"a":"x","b":"` + strings.Repeat("y", 40) + `"}`, true},
		{`{"naïve":"日本"}`, true},
		{`{"a":1 }`, false},         // whitespace
		{`{ "a":1}`, false},         // whitespace
		{`{"a\"b":1}`, false},       // escaped name
		{`{"a":"x\"y"}`, false},     // escaped value
		{`{"a":{"b":1}}`, false},    // nested
		{`{"a":[1]}`, false},        // nested
		{`{"a":nul}`, false},        // bad literal
		{`{"a":1,}`, false},         // trailing comma
		{`{"a":1`, false},           // unterminated
		{`{"a":"x`, false},          // unterminated string
		{"{\"a\":\"x\ty\"}", false}, // control byte
		{`{"a":1"b":2}`, false},     // missing comma
		{`{"a":truex}`, false},      // literal followed by junk
	} {
		b := []byte(tc.in)
		if got := checkWalkFlat(t, b); got != tc.answer {
			t.Errorf("walkFlat(%s) answered %v, want %v", tc.in, got, tc.answer)
		}
	}
}

func FuzzWalkFlat(f *testing.F) {
	for _, s := range []string{
		`{"version":"2.7.3.Final","connector":"mysql","file":"mysql-bin.000003","pos":154,"row":0,"ts_ms":1,"x":null}`,
		`{"a":true,"b":false,"c":-0.5e-3,"d":""}`, `{}`, `{"a":"\u00e9"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkWalkFlat(t, b) })
}
