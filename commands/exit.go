package commands

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

// Exit codes; docs/json.md and every command's help list them.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitUnreachable = 3
	ExitNotFound    = 4
	ExitRange       = 5
	ExitDiskFull    = 6
	ExitBusy        = 8
)

const exitStatusHelp = `EXIT STATUS
   0  success
   1  error
   2  usage: a bad flag, argument or key
   3  no daemon answers and none could be started (or --no-spawn)
   4  no such core
   5  an index or range past the end of the core
   6  the daemon's disk is full: free space, or lower --reserve
   8  the daemon serves as many clients as it may: try again later`

// errUsage marks an error in how the command was called.
var errUsage = errors.New("usage")

func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

func usageError(c *cli.Context, err error, isSubcommand bool) error {
	return fmt.Errorf("%w: %w", errUsage, err)
}

// classify maps an error to its exit code and its code name.
func classify(err error) (int, string) {
	switch {
	case errors.Is(err, errUsage), errors.Is(err, rpc.ErrBadKey):
		return ExitUsage, "usage"
	case errors.Is(err, rpc.ErrDaemonUnreachable):
		return ExitUnreachable, "daemon-unreachable"
	case errors.Is(err, rpc.ErrNotFound):
		return ExitNotFound, "not-found"
	case errors.Is(err, rpc.ErrOutOfRange):
		return ExitRange, "out-of-range"
	case errors.Is(err, rpc.ErrDiskFull):
		return ExitDiskFull, "disk-full"
	case errors.Is(err, rpc.ErrBusy):
		return ExitBusy, "busy"
	case errors.Is(err, rpc.ErrIncompatible):
		return ExitError, "incompatible"
	case errors.Is(err, rpc.ErrUnauthorized):
		return ExitError, "unauthorized"
	case errors.Is(err, rpc.ErrBlockTooLarge):
		return ExitError, "block-too-large"
	case errors.Is(err, rpc.ErrNotWritable):
		return ExitError, "not-writable"
	}
	return ExitError, "error"
}

// hint adds advice to a message, once, just before it is printed.
func hint(err error, logPath string) string {
	switch {
	case errors.Is(err, rpc.ErrDaemonUnreachable):
		return "start one with `hsp daemon start`, or drop --no-spawn; its log is " + logPath
	case errors.Is(err, rpc.ErrIncompatible):
		return "stop the old daemon with `hsp daemon stop`; the next command starts a new one"
	case errors.Is(err, rpc.ErrBusy):
		return "try again when fewer clients are connected, or raise `hsp daemon --max-clients`"
	case errors.Is(err, rpc.ErrDiskFull):
		return "free space on the daemon's disk, or lower its reserve with `hsp daemon --reserve`; its log is " + logPath
	case errors.Is(err, rpc.ErrUnauthorized):
		return "present the daemon's token: copy its home's token file to this home, or give --token-file"
	}
	return ""
}
