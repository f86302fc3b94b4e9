package cdc

import (
	"fmt"
)

// Schema inference straight from raw images: the same result as decoding the
// image (DecodeImage) and calling Observe on every column, without building
// the values. A winning row is then fully decoded only once, to be written.

// InferImage implements Decoder.
func (d *DynamoDB) InferImage(image, _ []byte, cols map[string]*Type) error {
	return inferMembers(image, cols, "attribute", inferAV, 0)
}

// inferMembers widens cols with the type infer gives each top-level member
// of image. Columns are looked up without allocating and written back only
// when the type changed.
func inferMembers(image []byte, cols map[string]*Type, what string, infer func(*Type, []byte, int) (*Type, error), depth int) error {
	var it objIter
	if err := it.open(image, 0); err != nil {
		return err
	}
	for {
		k, vs, done, err := it.next()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		ve, err := skipValue(image, vs)
		if err != nil {
			return err
		}
		cur, ok, name, err := lookupCol(cols, k)
		if err != nil {
			return err
		}
		t, err := infer(cur, image[vs:ve], depth)
		if err != nil {
			return fmt.Errorf("%s %s: %w", what, k, err)
		}
		if !ok || t != cur {
			if err := storeCol(cols, k, name, t); err != nil {
				return err
			}
		}
		it.i = ve
	}
}

// inferAV widens t with one attribute value at nesting depth (0 for a
// column): maps and lists nested MaxTypeDepth deep or more are typed as
// string (JSON text), as Observe and Finalize do.
func inferAV(t *Type, av []byte, depth int) (*Type, error) {
	var it objIter
	if err := it.open(av, 0); err != nil {
		return t, err
	}
	tag, vs, done, err := it.next()
	if err != nil {
		return t, err
	}
	if done {
		return t, fmt.Errorf("empty attribute value")
	}
	ve, err := skipValue(av, vs)
	if err != nil {
		return t, err
	}
	v := av[vs:ve]
	switch string(tag) {
	case "S":
		t, _ = ObserveKind(t, KindString)
	case "N":
		var err error
		if t, err = observeDynamoN(t, v); err != nil {
			return t, err
		}
	case "BOOL":
		t, _ = ObserveKind(t, KindBool)
	case "NULL":
		t, _ = ObserveKind(t, KindNull)
	case "B":
		t, _ = ObserveKind(t, KindBinary)
	case "M":
		if depth >= MaxTypeDepth {
			t, _ = ObserveKind(t, KindString)
			break
		}
		var descend bool
		if t, descend = ObserveKind(t, KindStruct); descend {
			if err := inferMembers(v, t.Fields, "attribute", inferAV, depth+1); err != nil {
				return t, err
			}
		}
	case "L", "SS", "NS", "BS":
		if depth >= MaxTypeDepth {
			t, _ = ObserveKind(t, KindString)
			break
		}
		var descend bool
		if t, descend = ObserveKind(t, KindList); descend {
			err := eachElement(v, func(e []byte) error {
				var err error
				switch string(tag) {
				case "L":
					t.Elem, err = inferAV(t.Elem, e, depth+1)
				case "SS":
					t.Elem, _ = ObserveKind(t.Elem, KindString)
				case "NS":
					t.Elem, err = observeDynamoN(t.Elem, e)
				case "BS":
					t.Elem, _ = ObserveKind(t.Elem, KindBinary)
				}
				return err
			})
			if err != nil {
				return t, err
			}
		}
	default:
		return t, fmt.Errorf("unknown attribute type %q", tag)
	}
	return t, nil
}

// observeDynamoN widens t for a DynamoDB N (a JSON string): int64 when it
// is an integer that fits, else an exact decimal (DECIMAL(38, scale) while
// the values fit). Not a number (NaN, Infinity, out of range) is an error.
func observeDynamoN(t *Type, v []byte) (*Type, error) {
	raw, ok := plainString(v)
	if ok {
		if _, isInt := parseInt64(raw); isInt {
			t, _ = ObserveKind(t, KindInt)
			return t, nil
		}
	}
	s, err := unquoteAlias(v)
	if err != nil {
		return t, err
	}
	n, d, err := parseDynamoNumber(s)
	if err != nil {
		return t, err
	}
	if _, isInt := n.(int64); isInt {
		t, _ = ObserveKind(t, KindInt)
		return t, nil
	}
	return ObserveDecimal(t, d.intDigits(), d.scale), nil
}

// InferImage implements Decoder. With a schema wrapper the column types are
// the ones it declares (ints keep their width, decimals their precision and
// scale, temporal types their unit), widened per value only for
// VariableScaleDecimal columns; without, it walks the JSON.
func (d *Debezium) InferImage(image, schema []byte, cols map[string]*Type) error {
	if len(schema) > 0 {
		decl, err := d.declared(schema)
		if err != nil {
			return err
		}
		for k, t := range decl.cols {
			if cur, ok := cols[k]; !ok || !sameType(cur, t) {
				cols[k] = Merge(cur, t)
			}
		}
		// Members the schema does not declare (it should declare them all)
		// are typed from their JSON, as without a schema.
		if err := inferUndeclared(image, decl.cols, cols); err != nil {
			return err
		}
		if len(decl.observe) == 0 {
			return nil
		}
		row, err := d.DecodeImage(image, schema)
		if err != nil {
			return err
		}
		for _, k := range decl.observe {
			if v, ok := row[k].(Decimal); ok {
				cols[k] = ObserveDecimal(cols[k], v.IntDigits(), int(v.Scale))
			}
		}
		return nil
	}
	return inferMembers(image, cols, "column", inferJSON, 0)
}

// inferUndeclared types the image's members that decl lacks.
func inferUndeclared(image []byte, decl, cols map[string]*Type) error {
	var it objIter
	if err := it.open(image, 0); err != nil {
		return err
	}
	for {
		k, vs, done, err := it.next()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		ve, err := skipValue(image, vs)
		if err != nil {
			return err
		}
		if _, ok := decl[string(k)]; !ok {
			name, err := internName(k)
			if err != nil {
				return err
			}
			if cols[name], err = inferJSON(cols[name], image[vs:ve], 0); err != nil {
				return fmt.Errorf("column %s: %w", name, err)
			}
		}
		it.i = ve
	}
}

// sameType reports whether a already is b (a shallow check for scalars, so
// that the common case allocates nothing).
func sameType(a, b *Type) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind == KindStruct || a.Kind == KindList || a.Kind == KindDecimal {
		return false
	}
	return a.Kind == b.Kind && a.Bits == b.Bits && a.Nanos == b.Nanos && a.UTC == b.UTC
}

type declaredCols struct {
	cols    map[string]*Type
	observe []string // VariableScaleDecimal columns: widened per value
}

// declared returns the column types a schema declares (parsed once).
func (d *Debezium) declared(schema []byte) (*declaredCols, error) {
	if v, ok := d.decl.Load(string(schema)); ok {
		return v.(*declaredCols), nil
	}
	fields, err := afterSchema(schema)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	dc := &declaredCols{cols: map[string]*Type{}}
	for name, f := range fields {
		dc.cols[name] = declaredType(f, 0)
		if f.Name == "io.debezium.data.VariableScaleDecimal" {
			dc.observe = append(dc.observe, name)
		}
	}
	d.decl.Store(string(schema), dc)
	return dc, nil
}

func inferJSON(t *Type, v []byte, depth int) (*Type, error) {
	if len(v) == 0 {
		return t, fmt.Errorf("empty value")
	}
	switch c := v[0]; {
	case c == '"':
		t, _ = ObserveKind(t, KindString)
	case c == 't' || c == 'f':
		t, _ = ObserveKind(t, KindBool)
	case c == 'n':
		t, _ = ObserveKind(t, KindNull)
	case (c == '[' || c == '{') && depth >= MaxTypeDepth:
		t, _ = ObserveKind(t, KindString)
	case c == '[':
		var descend bool
		if t, descend = ObserveKind(t, KindList); descend {
			err := eachElement(v, func(e []byte) error {
				var err error
				t.Elem, err = inferJSON(t.Elem, e, depth+1)
				return err
			})
			if err != nil {
				return t, err
			}
		}
	case c == '{':
		var descend bool
		if t, descend = ObserveKind(t, KindStruct); descend {
			if err := inferMembers(v, t.Fields, "column", inferJSON, depth+1); err != nil {
				return t, err
			}
		}
	default:
		switch {
		case func() bool { _, ok := parseInt64(v); return ok }():
			t, _ = ObserveKind(t, KindInt)
		case isIntegerText(v):
			d, err := parseDecimalText(string(v))
			if err != nil || d.nDigits > MaxDecimalDigits {
				t, _ = ObserveKind(t, KindDouble)
			} else {
				t = ObserveDecimal(t, d.intDigits(), 0)
			}
		default:
			t, _ = ObserveKind(t, KindDouble)
		}
	}
	return t, nil
}
