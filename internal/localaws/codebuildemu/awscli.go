package codebuildemu

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// The `aws` commands a buildspec runs are answered by the endpoint's own
// emulations, as the AWS CLI in a CodeBuild image would answer them from
// AWS: the few that opsctl's buildspecs use, with --query (a JMESPath
// subset: fields, [N], [], [?a==`v`], |, sort_by) and --output text|json.

// cliOp maps "service command" to the emulation's signing name, target
// prefix and operation, and builds the input from the flags.
type cliOp struct {
	service, target, op string
	input               func(f map[string][]string) map[string]any
}

var cliOps = map[string]cliOp{
	"ecs describe-services": {"ecs", "AmazonEC2ContainerServiceV20141113", "DescribeServices", func(f map[string][]string) map[string]any {
		return map[string]any{"cluster": first(f["cluster"]), "services": f["services"]}
	}},
	"ecs describe-task-definition": {"ecs", "AmazonEC2ContainerServiceV20141113", "DescribeTaskDefinition", func(f map[string][]string) map[string]any {
		return map[string]any{"taskDefinition": first(f["task-definition"])}
	}},
	"ecr describe-images": {"ecr", "AmazonEC2ContainerRegistry_V20150921", "DescribeImages", func(f map[string][]string) map[string]any {
		in := map[string]any{"repositoryName": first(f["repository-name"])}
		var ids []map[string]string
		for _, v := range f["image-ids"] {
			k, val, _ := strings.Cut(v, "=")
			ids = append(ids, map[string]string{k: val})
		}
		if ids != nil {
			in["imageIds"] = ids
		}
		if v := first(f["filter"]); v != "" {
			k, val, _ := strings.Cut(v, "=")
			in["filter"] = map[string]string{k: val}
		}
		return in
	}},
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// aws runs an `aws` command: status 0 with the output, or the CLI's 254 and
// its error message on stderr.
func (sh *shell) aws(args []string) (status int, stdout, stderr string) {
	if len(args) < 2 {
		return 0, "", ""
	}
	key := args[0] + " " + args[1]
	flags := map[string][]string{}
	name := ""
	for _, a := range args[2:] {
		if strings.HasPrefix(a, "--") {
			name = strings.TrimPrefix(a, "--")
			flags[name] = flags[name][:0:0]
			continue
		}
		if name != "" {
			flags[name] = append(flags[name], a)
		}
	}
	if key == "ecr get-login-password" {
		return 0, "eyJwYXlsb2FkIjoibG9jYWxhd3MifQ==\n", ""
	}
	op, ok := cliOps[key]
	if !ok || sh.call == nil {
		return 0, "", "" // not emulated: succeeds, prints nothing
	}
	var out any
	if err := sh.call(op.service, op.target, op.op, op.input(flags), &out); err != nil {
		code, msg := "InternalFailure", err.Error()
		if ce, ok := err.(*CallError); ok {
			code, msg = ce.Code, ce.Message
		}
		return 254, "", fmt.Sprintf("\nAn error occurred (%s) when calling the %s operation: %s\n", code, op.op, msg)
	}
	if q := first(flags["query"]); q != "" {
		out = jmes(out, q)
	}
	if first(flags["output"]) == "text" {
		return 0, cliText(out), ""
	}
	b, _ := json.MarshalIndent(out, "", "    ")
	return 0, string(b) + "\n", ""
}

// cliText is the AWS CLI's text output: None for null, scalars as they
// are, a list's scalars separated by tabs, nested lists one per line.
func cliText(v any) string {
	switch x := v.(type) {
	case nil:
		return "None\n"
	case []any:
		var cells, lines []string
		for _, e := range x {
			if _, ok := e.([]any); ok {
				lines = append(lines, strings.TrimSuffix(cliText(e), "\n"))
			} else {
				cells = append(cells, strings.TrimSuffix(cliText(e), "\n"))
			}
		}
		if len(cells) > 0 {
			lines = append([]string{strings.Join(cells, "\t")}, lines...)
		}
		return strings.Join(lines, "\n") + "\n"
	case float64:
		if x == math.Trunc(x) {
			return strconv.FormatInt(int64(x), 10) + "\n"
		}
		return strconv.FormatFloat(x, 'f', -1, 64) + "\n"
	case string:
		return x + "\n"
	default:
		b, _ := json.Marshal(x)
		return string(b) + "\n"
	}
}

// jmes evaluates the JMESPath subset.
func jmes(v any, q string) any {
	for _, part := range splitOutside(q, '|') {
		v = jmesChain(v, strings.TrimSpace(part))
	}
	return v
}

// splitOutside splits s on sep outside brackets, parentheses and backticks.
func splitOutside(s string, sep byte) []string {
	var out []string
	depth, tick, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '`':
			tick = !tick
		case tick:
		case c == '[' || c == '(':
			depth++
		case c == ']' || c == ')':
			depth--
		case c == sep && depth == 0 && !(sep == '|' && i+1 < len(s) && s[i+1] == '|'):
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func closing(s string, open int, o, c byte) int {
	depth, tick := 0, false
	for i := open; i < len(s); i++ {
		switch {
		case s[i] == '`':
			tick = !tick
		case tick:
		case s[i] == o:
			depth++
		case s[i] == c:
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(s)
}

func jmesChain(v any, s string) any {
	if strings.HasPrefix(s, "sort_by(") {
		end := closing(s, len("sort_by"), '(', ')')
		args := splitOutside(s[len("sort_by("):min(end, len(s))], ',')
		list, _ := jmes(v, args[0]).([]any)
		key := ""
		if len(args) > 1 {
			key = strings.TrimPrefix(strings.TrimSpace(args[1]), "&")
		}
		sorted := append([]any{}, list...)
		sort.SliceStable(sorted, func(i, j int) bool { return less(jmes(sorted[i], key), jmes(sorted[j], key)) })
		v, s = sorted, s[min(end+1, len(s)):]
	}
	return jmesTokens(v, s)
}

func less(a, b any) bool {
	fa, aok := a.(float64)
	fb, bok := b.(float64)
	if aok && bok {
		return fa < fb
	}
	return fmt.Sprint(a) < fmt.Sprint(b)
}

func jmesTokens(v any, s string) any {
	for len(s) > 0 {
		switch {
		case s[0] == '.' || s[0] == ' ':
			s = s[1:]
		case s[0] == '[':
			end := closing(s, 0, '[', ']')
			inner, rest := s[1:min(end, len(s))], s[min(end+1, len(s)):]
			list, isList := v.([]any)
			switch {
			case inner == "" || strings.HasPrefix(inner, "?"):
				if !isList {
					return nil
				}
				var out []any
				for _, e := range list {
					if inner == "" {
						if sub, ok := e.([]any); ok {
							for _, x := range sub {
								if r := jmesTokens(x, rest); r != nil {
									out = append(out, r)
								}
							}
							continue
						}
					} else if !jmesFilter(e, inner[1:]) {
						continue
					}
					if r := jmesTokens(e, rest); r != nil {
						out = append(out, r)
					}
				}
				if out == nil {
					out = []any{}
				}
				return out
			default:
				n, err := strconv.Atoi(strings.TrimSpace(inner))
				if !isList || err != nil {
					return nil
				}
				if n < 0 {
					n += len(list)
				}
				if n < 0 || n >= len(list) {
					return nil
				}
				v = list[n]
			}
			s = rest
		default:
			i := 0
			for i < len(s) && s[i] != '.' && s[i] != '[' && s[i] != ' ' {
				i++
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v, s = m[s[:i]], s[i:]
		}
	}
	return v
}

// jmesFilter evaluates `field==`literal“ and `!=`.
func jmesFilter(e any, cond string) bool {
	op := "=="
	l, r, ok := strings.Cut(cond, "==")
	if !ok {
		if l, r, ok = strings.Cut(cond, "!="); !ok {
			return jmes(e, cond) != nil
		}
		op = "!="
	}
	left := fmt.Sprint(jmes(e, strings.TrimSpace(l)))
	lit := strings.Trim(strings.TrimSpace(r), "`'")
	var decoded any
	if json.Unmarshal([]byte(lit), &decoded) == nil {
		lit = fmt.Sprint(decoded)
	}
	return (left == lit) == (op == "==")
}
