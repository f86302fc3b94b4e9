package cdc

import (
	"fmt"
	"strings"
)

// Schema inference straight from raw images: the same result as decoding the
// image (DecodeImage) and calling Observe on every column, without building
// the values. A winning row is then fully decoded only once, to be written.

// InferImage implements Decoder.
func (d *DynamoDB) InferImage(image, _ []byte, cols map[string]*Type) error {
	return inferMembers(image, cols, "attribute", inferAV)
}

// inferMembers widens cols with the type infer gives each top-level member
// of image. Columns are looked up without allocating and written back only
// when the type changed.
func inferMembers(image []byte, cols map[string]*Type, what string, infer func(*Type, []byte) (*Type, error)) error {
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
		t, err := infer(cur, image[vs:ve])
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

func inferAV(t *Type, av []byte) (*Type, error) {
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
		t, _ = ObserveKind(t, numberKind(v))
	case "BOOL":
		t, _ = ObserveKind(t, KindBool)
	case "NULL":
		t, _ = ObserveKind(t, KindNull)
	case "B":
		t, _ = ObserveKind(t, KindBinary)
	case "M":
		var descend bool
		if t, descend = ObserveKind(t, KindStruct); descend {
			if err := inferMembers(v, t.Fields, "attribute", inferAV); err != nil {
				return t, err
			}
		}
	case "L", "SS", "NS", "BS":
		var descend bool
		if t, descend = ObserveKind(t, KindList); descend {
			err := eachElement(v, func(e []byte) error {
				var err error
				switch string(tag) {
				case "L":
					t.Elem, err = inferAV(t.Elem, e)
				case "SS":
					t.Elem, _ = ObserveKind(t.Elem, KindString)
				case "NS":
					t.Elem, _ = ObserveKind(t.Elem, numberKind(e))
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

// numberKind: the kind numberBytes/numberAV give a DynamoDB N (a JSON string).
func numberKind(v []byte) Kind {
	if raw, ok := plainString(v); ok {
		if _, ok := parseInt64(raw); ok {
			return KindInt
		}
	}
	return KindDouble
}

// InferImage implements Decoder. With a schema (logical types) it decodes
// the image; without, it walks the JSON.
func (d *Debezium) InferImage(image, schema []byte, cols map[string]*Type) error {
	if len(schema) > 0 {
		row, err := d.DecodeImage(image, schema)
		if err != nil {
			return err
		}
		for k, v := range row {
			cur, ok := cols[k]
			if !ok {
				k = strings.Clone(k) // row keys alias the image; cols outlives it
			}
			cols[k] = Observe(cur, v)
		}
		return nil
	}
	return inferMembers(image, cols, "column", inferJSON)
}

func inferJSON(t *Type, v []byte) (*Type, error) {
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
	case c == '[':
		var descend bool
		if t, descend = ObserveKind(t, KindList); descend {
			err := eachElement(v, func(e []byte) error {
				var err error
				t.Elem, err = inferJSON(t.Elem, e)
				return err
			})
			if err != nil {
				return t, err
			}
		}
	case c == '{':
		var descend bool
		if t, descend = ObserveKind(t, KindStruct); descend {
			if err := inferMembers(v, t.Fields, "column", inferJSON); err != nil {
				return t, err
			}
		}
	default:
		if _, ok := parseInt64(v); ok {
			t, _ = ObserveKind(t, KindInt)
		} else {
			t, _ = ObserveKind(t, KindDouble)
		}
	}
	return t, nil
}
