package codebuildemu

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// buildspec is the part of the buildspec reference
// (https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html)
// the emulation interprets.
type buildspec struct {
	Version any `yaml:"version"`
	Env     struct {
		Variables         map[string]any `yaml:"variables"`
		ExportedVariables []string       `yaml:"exported-variables"`
	} `yaml:"env"`
	Phases map[string]struct {
		Commands []string `yaml:"commands"`
		Finally  []string `yaml:"finally"`
	} `yaml:"phases"`
	Artifacts struct {
		Files         []string `yaml:"files"`
		BaseDirectory string   `yaml:"base-directory"`
		DiscardPaths  any      `yaml:"discard-paths"`
	} `yaml:"artifacts"`
}

// specPhases are the buildspec's phases in the order CodeBuild runs them.
var specPhases = []struct{ key, typ string }{
	{"install", "INSTALL"}, {"pre_build", "PRE_BUILD"}, {"build", "BUILD"}, {"post_build", "POST_BUILD"},
}

// parseBuildspec parses a buildspec; the error is the YAML_FILE_ERROR
// message CodeBuild reports in DOWNLOAD_SOURCE.
func parseBuildspec(text string) (*buildspec, error) {
	var b buildspec
	if err := yaml.Unmarshal([]byte(text), &b); err != nil {
		return nil, fmt.Errorf("Error parsing YAML: %v", err)
	}
	v := strings.TrimSpace(fmt.Sprint(b.Version))
	if b.Version == nil {
		return nil, fmt.Errorf("missing version in buildspec")
	}
	if v != "0.2" && v != "0.1" {
		return nil, fmt.Errorf("invalid buildspec version %q: expected 0.1 or 0.2", v)
	}
	for k := range b.Phases {
		ok := false
		for _, p := range specPhases {
			ok = ok || p.key == k
		}
		if !ok {
			return nil, fmt.Errorf("Unknown phase name %q in buildspec", k)
		}
	}
	return &b, nil
}

// shell is the interpreter's state: variables, the files written and the
// output printed.
type shell struct {
	vars  map[string]string
	files map[string][]byte
	out   []string
}

// result of one command line.
type cmdResult struct {
	took   time.Duration
	status int
	output []string
}

// run interprets one buildspec command (a line of a phase's commands).
func (sh *shell) run(line string) cmdResult {
	res := cmdResult{took: 2 * time.Second}
	status := 0
	op := ""
	for _, part := range splitChain(line) {
		if part.op != "" {
			op = part.op
			continue
		}
		if (op == "&&" && status != 0) || (op == "||" && status == 0) {
			continue
		}
		var took time.Duration
		var out []string
		var exit bool
		status, took, out, exit = sh.simple(part.text)
		res.took += took
		res.output = append(res.output, out...)
		if exit {
			break
		}
	}
	res.status = status
	return res
}

type chainPart struct{ text, op string }

// splitChain splits a command line on &&, || and ; outside quotes.
func splitChain(line string) []chainPart {
	var parts []chainPart
	var cur strings.Builder
	quote := byte(0)
	flush := func() {
		if t := strings.TrimSpace(cur.String()); t != "" {
			parts = append(parts, chainPart{text: t})
		}
		cur.Reset()
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote = c
			cur.WriteByte(c)
		case c == '&' && i+1 < len(line) && line[i+1] == '&', c == '|' && i+1 < len(line) && line[i+1] == '|':
			flush()
			parts = append(parts, chainPart{op: line[i : i+2]})
			i++
		case c == ';':
			flush()
			parts = append(parts, chainPart{op: ";"})
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return parts
}

var (
	varRe    = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)
	assignRe = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)
)

func (sh *shell) expand(s string) string {
	return varRe.ReplaceAllStringFunc(s, func(m string) string {
		name := strings.Trim(m, "${}")
		return sh.vars[name]
	})
}

// words splits a simple command into words, honouring quotes (no expansion
// in single quotes) and expanding variables elsewhere.
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
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				j = len(s) - i - 1
			}
			cur.WriteString(sh.expand(strings.ReplaceAll(s[i+1:i+1+j], `\"`, `"`)))
			i += j + 1
			in = true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
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

// simple runs one command without && / || / ;. exit is set by `exit`.
func (sh *shell) simple(text string) (status int, took time.Duration, out []string, exit bool) {
	if strings.Contains(text, "OPSCTL_FAIL") || strings.Contains(sh.expand(text), "OPSCTL_FAIL") {
		return 1, 0, nil, false
	}
	w := sh.words(text)
	if len(w) == 0 {
		return 0, 0, nil, false
	}
	// Redirections: > FILE, >> FILE (the last word pair).
	redirect, appendTo := "", false
	for i := 0; i < len(w); i++ {
		if w[i] == ">" || w[i] == ">>" {
			if i+1 < len(w) {
				redirect, appendTo = w[i+1], w[i] == ">>"
			}
			w = append(w[:i:i], w[min(i+2, len(w)):]...)
			i--
		} else if strings.HasPrefix(w[i], ">") && len(w[i]) > 1 {
			appendTo = strings.HasPrefix(w[i], ">>")
			redirect = strings.TrimLeft(w[i], ">")
			w = append(w[:i:i], w[i+1:]...)
			i--
		}
	}
	var printed string
	printedSet := false
	switch {
	case len(w) == 0:
	case w[0] == "exit":
		n := 0
		if len(w) > 1 {
			n, _ = strconv.Atoi(w[1])
		}
		return n, 0, nil, true
	case w[0] == "false":
		return 1, 0, nil, false
	case w[0] == "true", w[0] == "cd":
	case w[0] == "export":
		for _, a := range w[1:] {
			if m := assignRe.FindStringSubmatch(a); m != nil {
				sh.vars[m[1]] = m[2]
			}
		}
	case assignRe.MatchString(w[0]):
		for _, a := range w {
			if m := assignRe.FindStringSubmatch(a); m != nil {
				sh.vars[m[1]] = m[2]
			}
		}
	case w[0] == "sleep":
		if len(w) > 1 {
			if n, err := strconv.ParseFloat(w[1], 64); err == nil {
				took = time.Duration(n * float64(time.Second))
			}
		}
	case w[0] == "echo":
		args := w[1:]
		nl := "\n"
		if len(args) > 0 && args[0] == "-n" {
			args, nl = args[1:], ""
		}
		printed, printedSet = strings.Join(args, " ")+nl, true
	case w[0] == "printf":
		if len(w) > 1 {
			printed, printedSet = printf(w[1], w[2:]), true
		}
	case w[0] == "cat":
		var b strings.Builder
		for _, f := range w[1:] {
			data, ok := sh.files[f]
			if !ok {
				return 1, 0, []string{"cat: " + f + ": No such file or directory"}, false
			}
			b.Write(data)
		}
		printed, printedSet = b.String(), true
	}
	if redirect != "" {
		if appendTo {
			sh.files[redirect] = append(sh.files[redirect], printed...)
		} else {
			sh.files[redirect] = []byte(printed)
		}
		return 0, took, nil, false
	}
	if printedSet {
		for _, l := range strings.Split(strings.TrimSuffix(printed, "\n"), "\n") {
			out = append(out, l)
		}
	}
	return 0, took, out, false
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

// artifactFiles selects the files artifacts.files names (globs; "**/*"
// matches everything) relative to base-directory.
func artifactFiles(spec *buildspec, files map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	base := strings.Trim(spec.Artifacts.BaseDirectory, "/")
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rel := strings.TrimPrefix(n, "./")
		if base != "" {
			if !strings.HasPrefix(rel, base+"/") {
				continue
			}
			rel = strings.TrimPrefix(rel, base+"/")
		}
		for _, pat := range spec.Artifacts.Files {
			pat = strings.TrimPrefix(pat, "./")
			ok, _ := path.Match(pat, rel)
			if ok || pat == "**/*" || pat == "**" || pat == "*" && !strings.Contains(rel, "/") {
				out[rel] = files[n]
				break
			}
		}
	}
	return out
}
