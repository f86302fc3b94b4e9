package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

// The bash and zsh scripts ask opsctl itself for candidates: urfave/cli
// answers a command line ending in --generate-bash-completion with the
// subcommands (or, after a "-", the flags) that can come next.
const bashCompletion = `# bash completion for opsctl
# Load with: source <(opsctl completion bash)
_opsctl_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}" candidates
  if [[ "$cur" == -* ]]; then
    candidates=$("${COMP_WORDS[0]}" "${COMP_WORDS[@]:1:$((COMP_CWORD-1))}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    candidates=$("${COMP_WORDS[0]}" "${COMP_WORDS[@]:1:$((COMP_CWORD-1))}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
}
complete -o bashdefault -o default -F _opsctl_complete opsctl
`

const zshCompletion = `#compdef opsctl
# zsh completion for opsctl
# Load with: source <(opsctl completion zsh)   (after compinit)
_opsctl() {
  local -a candidates
  local cur="${words[CURRENT]}"
  local -a prefix=("${(@)words[1,CURRENT-1]}")
  if [[ "$cur" == -* ]]; then
    candidates=("${(@f)$(_CLI_ZSH_AUTOCOMPLETE_HACK=1 "${prefix[@]}" "$cur" --generate-bash-completion 2>/dev/null)}")
  else
    candidates=("${(@f)$(_CLI_ZSH_AUTOCOMPLETE_HACK=1 "${prefix[@]}" --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ -n "${candidates[1]}" ]]; then
    _describe 'opsctl' candidates
  else
    _files
  fi
}
compdef _opsctl opsctl
`

func completionCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: "Prints a script that completes opsctl's commands and flags. Load it in the current shell,\n" +
			"or install it where your shell looks for completions.\n\n" +
			"Example:\n   source <(opsctl completion bash)         # add to ~/.bashrc\n" +
			"   opsctl completion zsh > \"${fpath[1]}/_opsctl\"\n" +
			"   opsctl completion fish > ~/.config/fish/completions/opsctl.fish",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage("completion: want one shell (bash, zsh or fish), got %d arguments", c.NArg())
			}
			var script string
			switch shell := c.Args().First(); shell {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return fmt.Errorf("generate fish completion: %w", err)
				}
				script = s
			default:
				return usage("completion: unknown shell %q: want bash, zsh or fish", shell)
			}
			_, err := io.WriteString(st.stdout, script)
			return err
		},
	}
}
