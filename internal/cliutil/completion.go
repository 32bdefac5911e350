package cliutil

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// CompletionCommand prints the shell script that completes prog's commands
// and flags; the script asks the binary itself (--generate-bash-completion,
// urfave/cli), so it never goes stale.
func CompletionCommand(prog string) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash or zsh",
		ArgsUsage: "bash|zsh",
		Description: strings.ReplaceAll(`Examples:
  source <(PROG_NAME completion bash)                      # this shell
  PROG_NAME completion bash > /etc/bash_completion.d/PROG_NAME
  PROG_NAME completion zsh > "${fpath[1]}/_PROG_NAME"`, "PROG_NAME", prog),
		Action: func(c *cli.Context) error {
			script, ok := completionScripts[c.Args().First()]
			if !ok || c.NArg() != 1 {
				return Usagef("completion", "give the shell: bash or zsh")
			}
			_, err := fmt.Fprint(c.App.Writer, strings.ReplaceAll(script, "PROG_NAME", c.App.Name))
			return err
		},
	}
}

// completionScripts follow urfave/cli v2's autocomplete/ scripts.
var completionScripts = map[string]string{
	"bash": `# bash completion for PROG_NAME
_PROG_NAME_complete() {
  local cur words
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:0:$COMP_CWORD}")
  local opts
  if [[ "$cur" == "-"* ]]; then
    # "--" would end the flags and run the command: ask with "-" instead.
    local c="$cur"; [[ "$c" == "--" ]] && c="-"
    opts=$("${words[@]}" "$c" --generate-bash-completion </dev/null 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion </dev/null 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
}
complete -o bashdefault -o default -F _PROG_NAME_complete PROG_NAME
`,
	"zsh": `#compdef PROG_NAME
_PROG_NAME_complete() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    local c=$cur; [[ "$c" == "--" ]] && c="-"
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${c} --generate-bash-completion </dev/null 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion </dev/null 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _PROG_NAME_complete PROG_NAME
`,
}
