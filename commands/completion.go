package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// Shell completion scripts ask hsp itself for candidates, through
// urfave/cli's --generate-bash-completion flag, so they follow the commands.
const bashCompletion = `# bash completion for hsp; load with: source <(hsp completion bash)
_hsp_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}" words
  if [[ "$cur" == -* ]]; then
    words=$("${COMP_WORDS[@]:0:COMP_CWORD}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    words=$("${COMP_WORDS[@]:0:COMP_CWORD}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o bashdefault -o default -F _hsp_complete hsp
`

const zshCompletion = `#compdef hsp
# zsh completion for hsp; load with: source <(hsp completion zsh)
_hsp() {
  local -a candidates
  if [[ "${words[CURRENT]}" == -* ]]; then
    candidates=("${(@f)$(${words[1,CURRENT-1]} ${words[CURRENT]} --generate-bash-completion 2>/dev/null)}")
  else
    candidates=("${(@f)$(${words[1,CURRENT-1]} --generate-bash-completion 2>/dev/null)}")
  fi
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

` + exitStatusHelp,
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

func manCommand() *cli.Command {
	return &cli.Command{
		Name:   "man",
		Usage:  "print hsp's manual page (roff)",
		Hidden: true,
		Action: func(c *cli.Context) error {
			page, err := c.App.ToMan()
			if err != nil {
				return fmt.Errorf("generate man page: %w", err)
			}
			_, err = fmt.Fprint(c.App.Writer, page)
			return err
		},
	}
}
