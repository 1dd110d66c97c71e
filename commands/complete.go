package commands

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/home"
	"github.com/hspd/hsp/rpc"
)

// completeWait bounds how long completion waits for a daemon's keys.
const completeWait = 200 * time.Millisecond

// complete prints the candidates for the last of words (the command line
// without the program name; the last word is the one being completed, maybe
// ""): flags when it starts with "-", else subcommands, else, for commands
// that take a KEY, the keys of the cores a running daemon stores. It never
// starts a daemon.
func complete(app *cli.App, out *output, words []string) error {
	cur := ""
	if n := len(words); n > 0 {
		cur, words = words[n-1], words[:n-1]
	}
	partial := ""
	if strings.HasPrefix(cur, "-") {
		partial = cur
	}
	cmd, positional, flags := completionState(app, words)
	w := out.stdout
	switch {
	case partial != "":
		printFlags(w, partial, append(cmdFlags(cmd), app.Flags...))
	case flags.pendingValue:
		// a flag's value: let the shell complete file names
	case cmd != nil && len(cmd.Subcommands) > 0 && positional == 0:
		printCommands(w, cmd.Subcommands)
	case cmd == nil:
		printCommands(w, app.Commands)
	case takesKey(cmd, positional):
		printKeys(w, flags)
	}
	return nil
}

// completionFlags are the global flags completion needs to find a daemon.
type completionFlags struct {
	home, socket string
	pendingValue bool // the last word is a flag waiting for its value
}

// completionState follows words through commands and flags: the deepest
// command named, how many arguments it has, and --home and --socket.
func completionState(app *cli.App, words []string) (*cli.Command, int, completionFlags) {
	var cmd *cli.Command
	var st completionFlags
	cmds, positional := app.Commands, 0
	for i := 0; i < len(words); i++ {
		w := words[i]
		if name, hasValue, ok := flagName(w); ok {
			f := findFlag(append(cmdFlags(cmd), app.Flags...), name)
			if hasValue || !takesValue(f) {
				continue
			}
			if i+1 == len(words) {
				st.pendingValue = true
				break
			}
			switch i++; name {
			case "home":
				st.home = words[i]
			case "socket":
				st.socket = words[i]
			}
			continue
		}
		if next := findCommand(cmds, w); next != nil && positional == 0 {
			cmd, cmds = next, next.Subcommands
			continue
		}
		positional++
	}
	return cmd, positional, st
}

func cmdFlags(cmd *cli.Command) []cli.Flag {
	if cmd == nil {
		return nil
	}
	return cmd.Flags
}

// keyCommands are the commands whose arguments are core keys: how many
// (-1: any number).
var keyCommands = map[string]int{"append": 1, "cat": 1, "info": -1, "rm": 1}

// takesKey tells whether the next argument of cmd is a core's KEY.
func takesKey(cmd *cli.Command, positional int) bool {
	n, ok := keyCommands[cmd.Name]
	return ok && (n < 0 || positional < n)
}

func printFlags(w io.Writer, partial string, flags []cli.Flag) {
	cur := strings.TrimLeft(partial, "-")
	seen := map[string]bool{}
	for _, f := range flags {
		if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
			continue
		}
		for _, n := range f.Names() {
			if len(n) == 1 && strings.HasPrefix(partial, "--") {
				continue
			}
			if strings.HasPrefix(n, cur) && !seen[n] {
				seen[n] = true
				fmt.Fprintln(w, dashes(n)+n)
			}
		}
	}
}

func printCommands(w io.Writer, cmds []*cli.Command) {
	for _, c := range cmds {
		if !c.Hidden {
			fmt.Fprintln(w, c.Name)
		}
	}
}

// printKeys lists the keys of the cores a running daemon stores; with no
// daemon, or a slow one, nothing.
func printKeys(w io.Writer, st completionFlags) {
	dir, err := home.ResolveHome(st.home, os.Getenv)
	if err != nil {
		return
	}
	socket := home.PathsFor(dir, os.Getenv).Socket
	if st.socket != "" {
		socket = st.socket
	}
	ctx, cancel := context.WithTimeout(context.Background(), completeWait)
	defer cancel()
	client, err := rpc.Dial(ctx, socket)
	if err != nil {
		return
	}
	defer client.Close()
	cores, err := client.List(ctx)
	if err != nil {
		return
	}
	for _, ci := range cores {
		fmt.Fprintln(w, ci.Key)
	}
}
