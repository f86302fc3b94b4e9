package cwemu

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Simple metric math for GetMetricData: numbers, query ids, + - * /,
// parentheses, unary minus and FILL(expr, number). Series combine on the
// timestamps they share; a scalar applies to every point. Anything else is
// rejected with a clear error rather than answered wrongly.

// mseries is a time series keyed by bucket start (unix seconds).
type mseries map[int64]float64

type mvalue struct {
	scalar   float64
	series   mseries
	isSeries bool
}

type mathEnv struct {
	resolve func(id string) (mseries, error)
	grid    []int64 // every timestamp of the request's metric queries, for FILL
}

type mparser struct {
	src string
	pos int
	env *mathEnv
}

func evalExpression(expr string, env *mathEnv) (mseries, error) {
	p := &mparser{src: expr, env: env}
	v, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.pos != len(p.src) {
		return nil, fmt.Errorf("unexpected %q at position %d", p.src[p.pos:], p.pos)
	}
	if !v.isSeries {
		return nil, fmt.Errorf("the expression is a constant; it must reference a metric")
	}
	return v.series, nil
}

func (p *mparser) skip() {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
}

func (p *mparser) peek() byte {
	p.skip()
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *mparser) expr() (mvalue, error) {
	l, err := p.term()
	if err != nil {
		return l, err
	}
	for c := p.peek(); c == '+' || c == '-'; c = p.peek() {
		p.pos++
		r, err := p.term()
		if err != nil {
			return l, err
		}
		l = combine(l, r, c)
	}
	return l, nil
}

func (p *mparser) term() (mvalue, error) {
	l, err := p.unary()
	if err != nil {
		return l, err
	}
	for c := p.peek(); c == '*' || c == '/'; c = p.peek() {
		p.pos++
		r, err := p.unary()
		if err != nil {
			return l, err
		}
		l = combine(l, r, c)
	}
	return l, nil
}

func (p *mparser) unary() (mvalue, error) {
	if p.peek() == '-' {
		p.pos++
		v, err := p.unary()
		return combine(mvalue{scalar: -1}, v, '*'), err
	}
	return p.primary()
}

func (p *mparser) primary() (mvalue, error) {
	c := p.peek()
	switch {
	case c == '(':
		p.pos++
		v, err := p.expr()
		if err != nil {
			return v, err
		}
		if p.peek() != ')' {
			return v, fmt.Errorf("missing ')' at position %d", p.pos)
		}
		p.pos++
		return v, nil
	case c >= '0' && c <= '9' || c == '.':
		start := p.pos
		for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '.') {
			p.pos++
		}
		f, err := strconv.ParseFloat(p.src[start:p.pos], 64)
		return mvalue{scalar: f}, err
	case unicode.IsLetter(rune(c)):
		start := p.pos
		for p.pos < len(p.src) && (unicode.IsLetter(rune(p.src[p.pos])) || unicode.IsDigit(rune(p.src[p.pos])) || p.src[p.pos] == '_') {
			p.pos++
		}
		name := p.src[start:p.pos]
		if p.peek() == '(' {
			return p.call(name)
		}
		s, err := p.env.resolve(name)
		return mvalue{series: s, isSeries: true}, err
	}
	return mvalue{}, fmt.Errorf("unexpected %q at position %d", string(c), p.pos)
}

func (p *mparser) call(name string) (mvalue, error) {
	if strings.ToUpper(name) != "FILL" {
		return mvalue{}, fmt.Errorf("function %s is not supported by the emulator (only FILL)", name)
	}
	p.pos++ // (
	v, err := p.expr()
	if err != nil {
		return v, err
	}
	if p.peek() != ',' {
		return v, fmt.Errorf("FILL needs two arguments")
	}
	p.pos++
	fill, err := p.expr()
	if err != nil {
		return v, err
	}
	if p.peek() != ')' || fill.isSeries || !v.isSeries {
		return v, fmt.Errorf("FILL(series, number) expected")
	}
	p.pos++
	out := mseries{}
	for _, t := range p.env.grid {
		out[t] = fill.scalar
	}
	for t, x := range v.series {
		out[t] = x
	}
	return mvalue{series: out, isSeries: true}, nil
}

func apply(a, b float64, op byte) float64 {
	switch op {
	case '+':
		return a + b
	case '-':
		return a - b
	case '*':
		return a * b
	}
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

func combine(l, r mvalue, op byte) mvalue {
	switch {
	case !l.isSeries && !r.isSeries:
		return mvalue{scalar: apply(l.scalar, r.scalar, op)}
	case l.isSeries && !r.isSeries:
		out := mseries{}
		for t, x := range l.series {
			out[t] = apply(x, r.scalar, op)
		}
		return mvalue{series: out, isSeries: true}
	case !l.isSeries && r.isSeries:
		out := mseries{}
		for t, x := range r.series {
			out[t] = apply(l.scalar, x, op)
		}
		return mvalue{series: out, isSeries: true}
	}
	out := mseries{}
	for t, x := range l.series {
		if y, ok := r.series[t]; ok {
			out[t] = apply(x, y, op)
		}
	}
	return mvalue{series: out, isSeries: true}
}
