package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// Shell completion scripts ask hsp itself for candidates: the words typed
// so far, the word being completed (maybe empty), then
// --generate-bash-completion (complete.go answers), so they follow the
// commands.
const bashCompletion = `# bash completion for hsp; load with: source <(hsp completion bash)
_hsp_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}" words
  words=$("${COMP_WORDS[@]:0:COMP_CWORD}" "$cur" --generate-bash-completion 2>/dev/null)
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o bashdefault -o default -F _hsp_complete hsp
`

const zshCompletion = `#compdef hsp
# zsh completion for hsp; load with: source <(hsp completion zsh)
_hsp() {
  local -a candidates
  candidates=("${(@f)$(${words[1,CURRENT-1]} "${words[CURRENT]}" --generate-bash-completion 2>/dev/null)}")
  compadd -- $candidates
}
compdef _hsp hsp
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		ArgsUsage: "SHELL",
		Description: `Load it in the current shell, for example: source <(hsp completion bash)

` + exitStatus(ExitOK, ExitError, ExitUsage),
		Action: func(c *cli.Context) error {
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
				return usagef("completion needs a shell: bash, zsh or fish")
			}
			_, err := fmt.Fprint(c.App.Writer, script)
			return err
		},
	}
}
