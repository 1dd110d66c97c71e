package commands

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs lets flags follow a command's arguments, as people type them
// (`hsp cat KEY --start 3 --json`): urfave/cli v2 stops reading flags at the
// first argument, so the command's flags are moved before its arguments and
// global flags before the command. A "--" ends the flags; what follows it
// stays arguments (`hsp append KEY -- -not-a-flag`).
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	global, rest := leadingFlags(app.Flags, args[1:])
	if len(rest) == 0 {
		return args
	}
	path, cmd, rest := commandPath(app.Commands, rest)
	if cmd == nil {
		return args
	}
	var cmdFlags, positional []string
	for i := 0; i < len(rest); i++ {
		tok := rest[i]
		if tok == "--" {
			positional = append(positional, rest[i+1:]...)
			break
		}
		name, hasValue, ok := flagName(tok)
		if !ok {
			positional = append(positional, tok)
			continue
		}
		taken := 1
		// --help stays with its command: every command has one of its own.
		if f := findFlag(cmd.Flags, name); f != nil || findFlag(app.Flags, name) == nil || name == "help" || name == "h" {
			if !hasValue && takesValue(f) && i+1 < len(rest) {
				taken = 2
			}
			cmdFlags = append(cmdFlags, rest[i:i+taken]...)
		} else {
			if !hasValue && takesValue(findFlag(app.Flags, name)) && i+1 < len(rest) {
				taken = 2
			}
			global = append(global, rest[i:i+taken]...)
		}
		i += taken - 1
	}
	out := append([]string{args[0]}, global...)
	out = append(out, path...)
	out = append(out, cmdFlags...)
	for _, p := range positional {
		if strings.HasPrefix(p, "-") {
			out = append(out, "--") // keep it an argument
			break
		}
	}
	return append(out, positional...)
}

// leadingFlags splits off the global flags before the command name.
func leadingFlags(flags []cli.Flag, args []string) ([]string, []string) {
	i := 0
	for i < len(args) {
		name, hasValue, ok := flagName(args[i])
		if !ok || args[i] == "--" {
			break
		}
		if !hasValue && takesValue(findFlag(flags, name)) {
			i++
		}
		i++
	}
	i = min(i, len(args))
	return append([]string{}, args[:i]...), args[i:]
}

// commandPath follows command and subcommand names.
func commandPath(cmds []*cli.Command, args []string) ([]string, *cli.Command, []string) {
	var path []string
	var cmd *cli.Command
	for len(args) > 0 {
		next := findCommand(cmds, args[0])
		if next == nil {
			break
		}
		cmd, cmds = next, next.Subcommands
		path, args = append(path, args[0]), args[1:]
	}
	return path, cmd, args
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// flagName reads "-x", "--x" or "--x=v".
func flagName(tok string) (name string, hasValue, ok bool) {
	if len(tok) < 2 || tok[0] != '-' {
		return "", false, false
	}
	name = strings.TrimLeft(tok, "-")
	name, _, hasValue = strings.Cut(name, "=")
	return name, hasValue, name != ""
}

func findFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func takesValue(f cli.Flag) bool {
	if f == nil {
		return false
	}
	_, isBool := f.(*cli.BoolFlag)
	return !isBool
}
