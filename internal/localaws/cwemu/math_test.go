package cwemu

import (
	"math"
	"testing"
)

func TestEvalExpressionTable(t *testing.T) {
	env := &mathEnv{grid: []int64{0, 60, 120}}
	env.resolve = func(id string) (mseries, error) {
		switch id {
		case "a":
			return mseries{0: 1, 60: 2, 120: 3}, nil
		case "b":
			return mseries{0: 4, 120: 0}, nil
		}
		return nil, errValidation("Unrecognized identifier %s.", id)
	}
	tests := []struct {
		expr string
		want mseries
	}{
		{"a", mseries{0: 1, 60: 2, 120: 3}},
		{"a + b", mseries{0: 5, 120: 3}},
		{"2 * (a - 1)", mseries{0: 0, 60: 2, 120: 4}},
		{"-a", mseries{0: -1, 60: -2, 120: -3}},
		{"a / b", mseries{0: 0.25, 120: math.NaN()}},
		{"FILL(b, 7) + a", mseries{0: 5, 60: 9, 120: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := evalExpression(tc.expr, env)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v want %v", got, tc.want)
			}
			for k, w := range tc.want {
				if g, ok := got[k]; !ok || (g != w && !(math.IsNaN(g) && math.IsNaN(w))) {
					t.Fatalf("got %v want %v", got, tc.want)
				}
			}
		})
	}
	for _, bad := range []string{"", "a +", "(a", "1 2", "3", "SUM(a)", "FILL(a)", "c", "a $ b"} {
		if _, err := evalExpression(bad, env); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func FuzzEvalExpression(f *testing.F) {
	for _, s := range []string{"a + b", "FILL(a, 0) / (b - 1)", "-(-a)", "((", "1e5*a", "a/0"} {
		f.Add(s)
	}
	env := &mathEnv{grid: []int64{0}}
	env.resolve = func(id string) (mseries, error) {
		if id == "a" || id == "b" {
			return mseries{0: 1}, nil
		}
		return nil, errValidation("Unrecognized identifier %s.", id)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		evalExpression(expr, env) // must not panic or loop
	})
}
