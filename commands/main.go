// Package commands holds hsp's command-line interface: one file per command,
// each a thin layer that parses flags, calls the rpc client and renders the
// result as text or, with --json, as the JSON documented in docs/json.md.
package commands

import (
	"io"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

// Main runs hsp with the given arguments (args[0] is the program name) and
// returns the process exit code. It writes only to stdout and stderr.
func Main(args []string, stdout, stderr io.Writer) int {
	out := newOutput(stdout, stderr)
	app := newApp(out)
	err := runApp(app, out, args)
	if err == nil {
		return ExitOK
	}
	return out.fail(err)
}

func newApp(out *output) *cli.App {
	app := &cli.App{
		Name:                 "hsp",
		Usage:                "keep and share hypercores: a Hyperspace daemon and its CLI",
		Version:              rpc.Version,
		Writer:               out.stdout,
		ErrWriter:            out.stderr,
		HideHelpCommand:      true,
		EnableBashCompletion: true,
		ExitErrHandler:       func(*cli.Context, error) {},
		OnUsageError:         usageError,
		Flags:                globalFlags(),
		Metadata:             map[string]any{"output": out},
		Before:               func(c *cli.Context) error { out.setup(c); return nil },
		Action:               appAction,
		Commands: []*cli.Command{
			createCommand(), appendCommand(), catCommand(), infoCommand(), lsCommand(), replicateCommand(), seedCommand(), unseedCommand(), peersCommand(),
			dhtCommand(), rmCommand(), statusCommand(), daemonCommand(), configCommand(), completionCommand(), manCommand(),
		},
	}
	forEachCommand(app.Commands, func(c *cli.Command) {
		c.OnUsageError = usageError
		c.HideHelpCommand = true
	})
	customize(app)
	return app
}

func forEachCommand(cmds []*cli.Command, fn func(*cli.Command)) {
	for _, c := range cmds {
		fn(c)
		forEachCommand(c.Subcommands, fn)
	}
}

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "home", Usage: "the daemon's home `DIR` (default $HSP_HOME, else $XDG_DATA_HOME/hsp)"},
		&cli.StringFlag{Name: "socket", Usage: "the daemon's socket `PATH` (default derived from the home)"},
		&cli.BoolFlag{Name: "json", Usage: "print results as JSON (see docs/json.md)"},
		&cli.BoolFlag{Name: "no-spawn", Usage: "fail instead of starting a daemon when none answers"},
		&cli.StringFlag{Name: "connect", Usage: "talk to the daemon at TCP `HOST:PORT` instead of the socket"},
		&cli.StringFlag{Name: "token-file", EnvVars: []string{"HSP_TOKEN_FILE"}, Usage: "present the token in `FILE` to a TCP daemon (default: the home's token file)"},
	}
}

// appAction runs when no command matched: an unknown name is a usage
// error, nothing at all shows the help.
func appAction(c *cli.Context) error {
	if c.Args().Present() {
		return usagef("no command %q; see `hsp --help`", c.Args().First())
	}
	return cli.ShowAppHelp(c)
}

// outputOf returns the output of the running app.
func outputOf(c *cli.Context) *output { return c.App.Metadata["output"].(*output) }
