package codebuildemu

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// shell interprets buildspec commands (see the package comment): a small
// subset of sh — variables, quoting, && || ; and newlines, { } and ( )
// groups, if/then/else/fi, !, pipes, $(...), redirections, and the
// builtins echo, printf, cat, test/[, export, exit, true, false, sleep,
// cut, head, tr. Any other command succeeds and prints nothing.
type shell struct {
	vars  map[string]string
	files map[string][]byte
	depth int // nesting of groups and substitutions, bounded
}

// maxDepth bounds nested groups, if blocks and $(...) (sh would recurse; a
// command nested deeper fails with status 2).
const maxDepth = 32

// cmdResult is one buildspec command's outcome.
type cmdResult struct {
	took   time.Duration
	status int
	output []string
}

// commandCost is the time every buildspec command takes.
const commandCost = 2 * time.Second

// run interprets one buildspec command.
func (sh *shell) run(line string) cmdResult {
	res := cmdResult{took: commandCost}
	status, out, took, _ := sh.list(line, "")
	res.took += took
	res.status = status
	if out != "" {
		res.output = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	}
	return res
}

// list runs a command list; exit is set when `exit` ran.
func (sh *shell) list(line, stdin string) (status int, out string, took time.Duration, exit bool) {
	if sh.depth >= maxDepth {
		return 2, "", 0, false
	}
	sh.depth++
	defer func() { sh.depth-- }()
	op := ""
	var b strings.Builder
	for _, part := range splitTop(line) {
		if part.op != "" {
			op = part.op
			continue
		}
		if (op == "&&" && status != 0) || (op == "||" && status == 0) {
			continue
		}
		var o string
		var t time.Duration
		status, o, t, exit = sh.pipeline(part.text, stdin)
		b.WriteString(o)
		took += t
		if exit {
			break
		}
	}
	return status, b.String(), took, exit
}

type chainPart struct{ text, op string }

// splitTop splits on &&, ||, ; and newlines outside quotes, groups,
// $(...) and if/fi blocks.
func splitTop(line string) []chainPart {
	var parts []chainPart
	var cur strings.Builder
	quote := byte(0)
	depth := 0
	flush := func() {
		if t := strings.TrimSpace(cur.String()); t != "" {
			parts = append(parts, chainPart{text: t})
		}
		cur.Reset()
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		if quote != 0 {
			if c == quote {
				quote = 0
			}
			cur.WriteByte(c)
			continue
		}
		if depth == 0 && wordAt(line, i, "if") {
			depth++
			cur.WriteString("if")
			i++
			continue
		}
		switch {
		case c == '\'' || c == '"':
			quote = c
			cur.WriteByte(c)
		case c == '{' || c == '(':
			depth++
			cur.WriteByte(c)
		case c == '}' || c == ')':
			depth--
			cur.WriteByte(c)
		case depth > 0:
			if wordAt(line, i, "if") {
				depth++
			} else if wordAt(line, i, "fi") {
				depth--
			}
			cur.WriteByte(c)
		case c == '&' && i+1 < len(line) && line[i+1] == '&', c == '|' && i+1 < len(line) && line[i+1] == '|':
			flush()
			parts = append(parts, chainPart{op: line[i : i+2]})
			i++
		case c == ';' || c == '\n':
			flush()
			parts = append(parts, chainPart{op: ";"})
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return parts
}

// wordAt reports whether the shell word w starts at line[i].
func wordAt(line string, i int, w string) bool {
	if !strings.HasPrefix(line[i:], w) {
		return false
	}
	before := i == 0 || strings.ContainsRune(" \t\n;&|({", rune(line[i-1]))
	j := i + len(w)
	after := j == len(line) || strings.ContainsRune(" \t\n;&|)}", rune(line[j]))
	return before && after
}

// pipeline runs `a | b | c`, with `!` negation.
func (sh *shell) pipeline(text, stdin string) (status int, out string, took time.Duration, exit bool) {
	neg := false
	if strings.HasPrefix(text, "! ") {
		neg, text = true, strings.TrimSpace(text[2:])
	}
	stages := splitPipe(text)
	in := stdin
	for _, st := range stages {
		var t time.Duration
		status, in, t, exit = sh.command(st, in)
		took += t
		if exit {
			break
		}
	}
	if neg {
		status = map[bool]int{true: 0, false: 1}[status != 0]
	}
	return status, in, took, exit
}

func splitPipe(text string) []string {
	var out []string
	quote, depth, start := byte(0), 0, 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '{' || c == '(':
			depth++
		case c == '}' || c == ')':
			depth--
		case c == '|' && depth == 0:
			out = append(out, strings.TrimSpace(text[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(text[start:]))
}

var (
	varRe    = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)
	assignRe = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)
	ifRe     = regexp.MustCompile(`(?s)^if\s+(.*?);?\s*\bthen\b(.*?)(?:;?\s*\belse\b(.*?))?;?\s*\bfi$`)
)

// command runs one simple command, group or if block.
func (sh *shell) command(text, stdin string) (status int, out string, took time.Duration, exit bool) {
	text = strings.TrimSpace(text)
	switch {
	case strings.HasPrefix(text, "{") && strings.HasSuffix(text, "}"):
		return sh.list(text[1:len(text)-1], stdin)
	case strings.HasPrefix(text, "(") && strings.HasSuffix(text, ")"):
		status, out, took, _ = sh.list(text[1:len(text)-1], stdin)
		return status, out, took, false // a subshell's exit ends only the subshell
	case strings.HasPrefix(text, "if ") || strings.HasPrefix(text, "if\n"):
		m := ifRe.FindStringSubmatch(text)
		if m == nil {
			return 2, "", 0, false
		}
		cond, o, t, ex := sh.list(m[1], stdin)
		if ex {
			return cond, o, t, true
		}
		branch := m[2]
		if cond != 0 {
			branch = m[3]
		}
		st, o2, t2, ex2 := sh.list(branch, stdin)
		if cond != 0 && m[3] == "" {
			st = 0
		}
		return st, o + o2, t + t2, ex2
	}
	if strings.Contains(text, "OPSCTL_FAIL") || strings.Contains(sh.expandVars(text), "OPSCTL_FAIL") {
		return 1, "", 0, false
	}
	return sh.simple(text, stdin)
}

// expand replaces $VAR, ${VAR} and $(command) in s.
func (sh *shell) expand(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) && s[i+1] == '(' {
			end := matchParen(s, i+1)
			_, out, _, _ := sh.list(s[i+2:end], "")
			b.WriteString(strings.TrimRight(out, "\n"))
			i = end
			continue
		}
		if s[i] == '$' {
			if m := varRe.FindString(s[i:]); m != "" && strings.HasPrefix(s[i:], m) {
				b.WriteString(sh.vars[strings.Trim(m, "${}")])
				i += len(m) - 1
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// expandVars replaces $VAR and ${VAR} only.
func (sh *shell) expandVars(s string) string {
	return varRe.ReplaceAllStringFunc(s, func(m string) string { return sh.vars[strings.Trim(m, "${}")] })
}

// matchParen returns the index of the ) closing the ( at s[open], len(s)
// when there is none.
func matchParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(s)
}

// words splits a simple command into words, honouring quotes (nothing is
// expanded in single quotes) and expanding variables elsewhere.
func (sh *shell) words(s string) []string {
	var out []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			in = true
		case c == '"':
			j := i + 1
			for j < len(s) && (s[j] != '"' || s[j-1] == '\\') {
				j++
			}
			cur.WriteString(sh.expand(strings.ReplaceAll(s[i+1:min(j, len(s))], `\"`, `"`)))
			i = j
			in = true
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		case c == '$' && i+1 < len(s) && s[i+1] == '(':
			end := matchParen(s, i+1)
			cur.WriteString(sh.expand(s[i:min(end+1, len(s))]))
			i = end
			in = true
		case c == '$':
			m := varRe.FindString(s[i:])
			if m != "" && strings.HasPrefix(s[i:], m) {
				cur.WriteString(sh.expand(m))
				i += len(m) - 1
			} else {
				cur.WriteByte(c)
			}
			in = true
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// simple runs a builtin or an (always successful) external command.
func (sh *shell) simple(text, stdin string) (status int, out string, took time.Duration, exit bool) {
	w := sh.words(text)
	// Redirections: > FILE, >> FILE, 2>&1, >/dev/null.
	redirect, appendTo := "", false
	for i := 0; i < len(w); i++ {
		switch {
		case w[i] == "2>&1" || w[i] == "2>/dev/null":
			w = append(w[:i:i], w[i+1:]...)
			i--
		case w[i] == ">" || w[i] == ">>":
			if i+1 < len(w) {
				redirect, appendTo = w[i+1], w[i] == ">>"
			}
			w = append(w[:i:i], w[min(i+2, len(w)):]...)
			i--
		case strings.HasPrefix(w[i], ">") && len(w[i]) > 1:
			appendTo = strings.HasPrefix(w[i], ">>")
			redirect = strings.TrimLeft(w[i], ">")
			w = append(w[:i:i], w[i+1:]...)
			i--
		}
	}
	if len(w) == 0 {
		return 0, "", 0, false
	}
	args := w[1:]
	switch w[0] {
	case "exit":
		n := 0
		if len(args) > 0 {
			n, _ = strconv.Atoi(args[0])
		}
		return n, "", 0, true
	case "false":
		return 1, "", 0, false
	case "export":
		for _, a := range args {
			if m := assignRe.FindStringSubmatch(a); m != nil {
				sh.vars[m[1]] = m[2]
			}
		}
	case "sleep":
		if len(args) > 0 {
			if n, err := strconv.ParseFloat(args[0], 64); err == nil {
				took = time.Duration(n * float64(time.Second))
			}
		}
	case "echo":
		nl := "\n"
		if len(args) > 0 && args[0] == "-n" {
			args, nl = args[1:], ""
		}
		out = strings.Join(args, " ") + nl
	case "printf":
		if len(args) > 0 {
			out = printf(args[0], args[1:])
		}
	case "cat":
		if len(args) == 0 {
			out = stdin
		}
		for _, f := range args {
			data, ok := sh.files[f]
			if !ok {
				return 1, "cat: " + f + ": No such file or directory\n", 0, false
			}
			out += string(data)
		}
	case "test", "[":
		if w[0] == "[" && len(args) > 0 && args[len(args)-1] == "]" {
			args = args[:len(args)-1]
		}
		if !sh.test(args) {
			status = 1
		}
	case "cut":
		out = cut(args, stdin)
	case "head":
		out = head(args, stdin)
	case "tr":
		if len(args) == 2 && args[0] == "-d" {
			out = strings.Map(func(r rune) rune {
				if strings.ContainsRune(args[1], r) {
					return -1
				}
				return r
			}, stdin)
		} else {
			out = stdin
		}
	default:
		if assignRe.MatchString(w[0]) {
			for _, a := range w {
				if m := assignRe.FindStringSubmatch(a); m != nil {
					sh.vars[m[1]] = m[2]
				}
			}
		}
	}
	if redirect != "" {
		if redirect != "/dev/null" {
			if appendTo {
				sh.files[redirect] = append(sh.files[redirect], out...)
			} else {
				sh.files[redirect] = []byte(out)
			}
		}
		out = ""
	}
	return status, out, took, false
}

// test evaluates test / [ expressions: -z, -n, -f, -s, =, ==, !=, !.
func (sh *shell) test(a []string) bool {
	if len(a) > 0 && a[0] == "!" {
		return !sh.test(a[1:])
	}
	switch len(a) {
	case 0:
		return false
	case 1:
		return a[0] != ""
	case 2:
		switch a[0] {
		case "-z":
			return a[1] == ""
		case "-n":
			return a[1] != ""
		case "-f", "-e":
			_, ok := sh.files[a[1]]
			return ok
		case "-s":
			return len(sh.files[a[1]]) > 0
		}
	case 3:
		switch a[1] {
		case "=", "==":
			return a[0] == a[2]
		case "!=":
			return a[0] != a[2]
		}
	}
	return true
}

// cut supports -c N-M and -d X -f N.
func cut(args []string, in string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(in, "\n"), "\n") {
		lines = append(lines, cutLine(args, l))
	}
	return strings.Join(lines, "\n") + "\n"
}

func cutLine(args []string, l string) string {
	delim, field := "\t", 0
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "-c"):
			spec := strings.TrimPrefix(a, "-c")
			if spec == "" && i+1 < len(args) {
				i++
				spec = args[i]
			}
			from, to, _ := strings.Cut(spec, "-")
			f, _ := strconv.Atoi(from)
			t, err := strconv.Atoi(to)
			if f < 1 {
				f = 1
			}
			if err != nil || t > len(l) {
				t = len(l)
			}
			if f > len(l) || f > t {
				return ""
			}
			return l[f-1 : t]
		case strings.HasPrefix(a, "-d"):
			delim = strings.TrimPrefix(a, "-d")
			if delim == "" && i+1 < len(args) {
				i++
				delim = args[i]
			}
		case strings.HasPrefix(a, "-f"):
			spec := strings.TrimPrefix(a, "-f")
			if spec == "" && i+1 < len(args) {
				i++
				spec = args[i]
			}
			field, _ = strconv.Atoi(spec)
		}
	}
	if field > 0 && delim != "" {
		parts := strings.Split(l, delim)
		if field <= len(parts) {
			return parts[field-1]
		}
		return ""
	}
	return l
}

// head supports -c N and -n N.
func head(args []string, in string) string {
	if len(args) >= 2 {
		n, _ := strconv.Atoi(args[1])
		switch args[0] {
		case "-c":
			if n < len(in) && n >= 0 {
				return in[:n]
			}
		case "-n":
			lines := strings.SplitAfter(in, "\n")
			if n < len(lines) && n >= 0 {
				return strings.Join(lines[:n], "")
			}
		}
	}
	return in
}

// printf formats like the shell builtin: %s, %d, %%, \n, \t, \\; the format
// is reused while arguments remain.
func printf(format string, args []string) string {
	var b strings.Builder
	for first := true; first || len(args) > 0; first = false {
		used := false
		for i := 0; i < len(format); i++ {
			c := format[i]
			switch {
			case c == '\\' && i+1 < len(format):
				i++
				switch format[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				default:
					b.WriteByte(format[i])
				}
			case c == '%' && i+1 < len(format):
				i++
				switch format[i] {
				case '%':
					b.WriteByte('%')
				case 's', 'd':
					if len(args) > 0 {
						b.WriteString(args[0])
						args = args[1:]
						used = true
					} else if format[i] == 'd' {
						b.WriteByte('0')
					}
				}
			default:
				b.WriteByte(c)
			}
		}
		if !used {
			break
		}
	}
	return b.String()
}
