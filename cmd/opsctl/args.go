package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/internal/opserr"
)

// normalizeArgs lets flags appear anywhere, as users of the AWS CLI, gh and
// kubectl expect: "opsctl dlq peek orders-dlq --limit 5 --output json".
//
// urfave/cli/v2 parses a command's flags only before its first positional
// argument, and the app's global flags only before the command name. This
// rewrites args to [global flags] [command path] [command flags] [positionals],
// using the declared flags to know which take a value. Everything after "--"
// stays positional.
func normalizeArgs(app *cli.App, args []string) ([]string, error) {
	if len(args) == 0 {
		return args, nil
	}
	if n := len(args); n > 1 && args[n-1] == "--generate-bash-completion" {
		// Shell completion: urfave/cli looks for the flag as the last
		// argument, so keep it there.
		out, err := normalizeArgs(app, args[:n-1])
		return append(out, args[n-1]), err
	}
	globals := flagArity(app.Flags)
	var (
		globalArgs []string
		path       []string
		local      []string
		positional []string
		helpArgs   []string
		cmds       = app.Commands
		leaf       map[string]bool
		inPath     = true
	)
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			name := strings.TrimLeft(a, "-")
			hasValue := strings.Contains(name, "=")
			if j := strings.IndexByte(name, '='); j >= 0 {
				name = name[:j]
			}
			if name == "help" || name == "h" {
				// Help belongs to the deepest command named, wherever it is
				// written: "opsctl alarm add --help" shows add's help.
				helpArgs = append(helpArgs, a)
				continue
			}
			takes, isGlobal := globals[name]
			if !isGlobal && leaf != nil {
				takes = leaf[name]
			}
			dst := &local
			if isGlobal {
				dst = &globalArgs
			}
			*dst = append(*dst, a)
			if takes && !hasValue {
				if i+1 >= len(args) {
					return nil, opserr.Usagef("flag %s needs a value", a)
				}
				i++
				*dst = append(*dst, args[i])
			}
			continue
		}
		if inPath {
			if c := findCommand(cmds, a); c != nil {
				path = append(path, a)
				leaf = flagArity(c.Flags)
				cmds = c.Subcommands
				continue
			}
			inPath = false
		}
		positional = append(positional, a)
	}
	out := []string{args[0]}
	out = append(out, globalArgs...)
	out = append(out, path...)
	out = append(out, helpArgs...)
	out = append(out, local...)
	if len(positional) > 0 && positional[0] != "--" {
		for _, p := range positional {
			if strings.HasPrefix(p, "-") && p != "-" {
				out = append(out, "--")
				break
			}
		}
	}
	out = append(out, positional...)
	return out, nil
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
		for _, a := range c.Aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}

// flagArity maps every flag name and alias to whether it takes a value.
func flagArity(flags []cli.Flag) map[string]bool {
	m := map[string]bool{"help": false, "h": false}
	for _, f := range flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			m[n] = !isBool
		}
	}
	return m
}
