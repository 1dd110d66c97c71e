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
)

// Version is the hsp release, set at link time with
// -ldflags "-X github.com/hspd/hsp/commands.Version=v1.2.3".
var Version = "v0.0.0-dev"

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
		Version:         Version,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		Commands:        []*cli.Command{},
	}
}

func exitCode(err error) int {
	var coder cli.ExitCoder
	if errors.As(err, &coder) {
		return coder.ExitCode()
	}
	return ExitError
}
