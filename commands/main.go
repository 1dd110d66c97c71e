// Package commands holds hsp's command-line interface: one file per command,
// each a thin layer that parses flags, calls the rpc client and renders the
// result as text or JSON.
package commands

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

// Exit codes shared by every command.
const (
	ExitOK    = 0
	ExitError = 1
)

// Main runs hsp with the given arguments (args[0] is the program name) and
// returns the process exit code. It writes only to stdout and stderr.
func Main(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	if err := app.RunContext(context.Background(), args); err != nil {
		fmt.Fprintf(stderr, "hsp: %v\n", err)
		return exitCode(err)
	}
	return ExitOK
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:            "hsp",
		Usage:           "a Hyperspace daemon and CLI for hypercores",
		Version:         rpc.Version,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		Flags:           globalFlags(),
		Commands:        []*cli.Command{daemonCommand()},
	}
}

func exitCode(err error) int {
	var coder cli.ExitCoder
	if errors.As(err, &coder) {
		return coder.ExitCode()
	}
	return ExitError
}

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "home", Usage: "the daemon's home directory (default $HSP_HOME, else $XDG_DATA_HOME/hsp)"},
		&cli.StringFlag{Name: "socket", Usage: "the daemon's socket (default derived from the home)"},
	}
}
