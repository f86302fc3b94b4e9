package codebuildemu

import (
	"strings"
	"testing"
)

// The interpreter behind the documented command convention (package
// comment): what a buildspec command does to the build.
func TestShellInterpretsTheCommandsBuildspecsUse(t *testing.T) {
	cases := []struct {
		name, cmd string
		status    int
		out       string
	}{
		{"command substitution and cut", "IMAGE_TAG=$(echo $SHA | cut -c 1-7)\necho $IMAGE_TAG", 0, "abcdef1"},
		{"if on a set variable", `if [ -z "$CONTAINER" ]; then echo missing; exit 1; fi`, 0, ""},
		{"if on an unset variable", `if [ -z "$NOPE" ]; then echo missing; exit 1; fi`, 1, "missing"},
		{"if/else", "if [ \"$CONTAINER\" = web ]; then\n  echo yes\nelse\n  echo no\nfi", 0, "yes"},
		{"|| group not taken", `docker push x || { echo "push failed"; exit 1; }`, 0, ""},
		{"|| group taken", `false || { echo bad; exit 3; }`, 3, "bad"},
		{"pipe into an external command", "aws ecr get-login-password | docker login --username AWS --password-stdin $REPO", 0, ""},
		{"file written then read", `printf '[{"name":"%s"}]' "$CONTAINER" > imagedefinitions.json; cat imagedefinitions.json`, 0, `[{"name":"web"}]`},
		{"negation", "! true", 1, ""},
		{"subshell exit", "(exit 1); echo after", 0, "after"},
		{"&& stops at exit", "echo a && exit 2 && echo b", 2, "a"},
		{"OPSCTL_FAIL through a variable", `./run-tests "$MSG"`, 1, ""},
		{"test -f", "test -f nothing.json || echo absent", 0, "absent"},
		{"export", "export A=1 B=two; echo $A-$B", 0, "1-two"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sh := &shell{vars: map[string]string{"SHA": "abcdef1234", "CONTAINER": "web", "REPO": "r", "MSG": "x OPSCTL_FAIL"}, files: map[string][]byte{}}
			res := sh.run(tc.cmd)
			if res.status != tc.status || strings.Join(res.output, "\n") != tc.out {
				t.Fatalf("%q: status %d output %q, want %d %q", tc.cmd, res.status, res.output, tc.status, tc.out)
			}
		})
	}
}

func TestShellNeverPanicsOnMalformedCommands(t *testing.T) {
	for _, cmd := range []string{"if", "if x; then", "fi", "$(", "$(echo", `"unterminated`, "'open", "{", "}", ")", "(", "||", "&&", ";;",
		"cut -c", "head -c", "printf %", `printf '\'`, "> ", "echo >", "[", "[ ]", "test ! ! !", "exit x", "sleep x", "tr -d", "a | | b", "$", "${", "${}"} {
		sh := &shell{vars: map[string]string{}, files: map[string][]byte{}}
		sh.run(cmd)
	}
}

func FuzzShell(f *testing.F) {
	for _, s := range []string{"if [ -z $A ]; then echo x; fi", "a=$(echo b | cut -c 1-1) && { echo $a; }", "printf '%s\\n' x > f; cat f | head -n 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		sh := &shell{vars: map[string]string{"A": "1"}, files: map[string][]byte{}}
		sh.run(cmd)
	})
}
