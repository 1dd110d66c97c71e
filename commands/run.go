package commands

import (
	"context"

	"github.com/urfave/cli/v2"
)

// completionFlag is the last argument of a shell completion request.
const completionFlag = "--generate-bash-completion"

// runApp runs the app on args. --json is read before anything else, so that
// even a bad flag before it fails in JSON; a completion request is answered
// here, not by urfave/cli; and output that could not be written fails the
// command.
func runApp(app *cli.App, out *output, args []string) error {
	out.json = jsonRequested(args)
	if n := len(args); n > 0 && args[n-1] == completionFlag {
		return complete(app, out, args[1:n-1])
	}
	err := app.RunContext(context.Background(), reorderArgs(app, args))
	if err == nil {
		err = out.stdout.err
	}
	return err
}

// jsonRequested tells whether --json is among the flags (before any "--").
func jsonRequested(args []string) bool {
	for _, a := range args[min(1, len(args)):] {
		switch a {
		case "--":
			return false
		case "--json", "-json", "--json=true", "-json=true":
			return true
		}
	}
	return false
}
