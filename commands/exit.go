package commands

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

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
	ExitUnavailable = 7
	ExitBusy        = 8
)

// exitMeanings say what each exit code means, for the help and the manual.
var exitMeanings = []struct {
	code    int
	meaning string
}{
	{ExitOK, "success"},
	{ExitError, "error"},
	{ExitUsage, "usage: a bad flag, argument or key"},
	{ExitUnreachable, "no daemon answers and none could be started (or --no-spawn)"},
	{ExitNotFound, "no such core"},
	{ExitRange, "an index or range past the end of the core"},
	{ExitDiskFull, "the daemon's disk is full: free space, or lower --reserve"},
	{ExitUnavailable, "unavailable: no peer could be reached, none has the core, or --timeout passed"},
	{ExitBusy, "the daemon serves as many clients as it may: try again later"},
}

// exitStatus is the EXIT STATUS section of a command's help, listing the
// codes it can return (all of them without any).
func exitStatus(codes ...int) string {
	var b strings.Builder
	b.WriteString("EXIT STATUS")
	for _, m := range exitMeanings {
		if len(codes) == 0 || contains(codes, m.code) {
			fmt.Fprintf(&b, "\n   %d  %s", m.code, m.meaning)
		}
	}
	return b.String()
}

func contains(codes []int, c int) bool {
	for _, x := range codes {
		if x == c {
			return true
		}
	}
	return false
}

// exitStatusHelp is the whole table.
var exitStatusHelp = exitStatus()

// clientExits are the codes every command that talks to a daemon can
// return, besides its own.
var clientExits = []int{ExitOK, ExitError, ExitUsage, ExitUnreachable, ExitBusy}

// clientExitStatus is exitStatus of clientExits and more.
func clientExitStatus(more ...int) string { return exitStatus(append(more, clientExits...)...) }

// errUsage marks an error in how the command was called.
var errUsage = errors.New("usage")

func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

// goFlagName finds the long flag names in the flag package's messages,
// which spell every flag with one dash ("flag provided but not defined:
// -bogus").
var goFlagName = regexp.MustCompile(`(^|[ :])-([A-Za-z0-9][A-Za-z0-9-]+)`)

func usageError(c *cli.Context, err error, isSubcommand bool) error {
	msg := err.Error()
	if strings.HasPrefix(msg, "flag ") || strings.HasPrefix(msg, "invalid ") {
		msg = goFlagName.ReplaceAllString(msg, "$1--$2")
	}
	return fmt.Errorf("%w: %s", errUsage, msg)
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
	case errors.Is(err, rpc.ErrUnavailable):
		return ExitUnavailable, "unavailable"
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

// hintContext is what a hint needs to know of how the command was run.
type hintContext struct {
	noSpawn   bool
	connect   string // --connect's address, if given
	logPath   string // the home's daemon.log
	tokenPath string // the home's token file
}

// errNoHint marks an error whose message already says what to do.
var errNoHint = errors.New("no hint")

// hint adds advice to a message, once, just before it is printed.
func hint(err error, hc hintContext) string {
	switch {
	case errors.Is(err, errNoHint):
		return ""
	case errors.Is(err, rpc.ErrDaemonUnreachable):
		return unreachableHint(hc)
	case errors.Is(err, rpc.ErrIncompatible) && hc.connect != "":
		return "check the address: " + hc.connect + " does not answer as an hsp daemon of this protocol"
	case errors.Is(err, rpc.ErrIncompatible):
		return "stop the old daemon with `hsp daemon stop`; the next command starts a new one"
	case errors.Is(err, rpc.ErrBusy):
		return "try again when fewer clients are connected, or raise `hsp daemon --max-clients`"
	case errors.Is(err, rpc.ErrDiskFull):
		return "free space on the daemon's disk, or lower its reserve with `hsp daemon --reserve`" + logHint(hc)
	case errors.Is(err, rpc.ErrUnauthorized):
		return "a TCP daemon requires the token in its home's token file ($HSP_HOME/token on its host): " +
			"copy that file to " + orDefault(hc.tokenPath, "this home's token file") + ", or give --token-file FILE (or $HSP_TOKEN_FILE)"
	case strings.Contains(err.Error(), "a client has it open"):
		return "close what holds it open (a `hsp cat --live`, another program) and try again"
	}
	return ""
}

func unreachableHint(hc hintContext) string {
	switch {
	case hc.connect != "":
		return "check that a daemon serves TCP at " + hc.connect + " (`hsp daemon --port PORT` on its host)"
	case hc.noSpawn:
		return "start one with `hsp daemon start`, or drop --no-spawn" + logHint(hc)
	}
	return strings.TrimPrefix(logHint(hc), "; ")
}

// logHint points at the daemon's log when there is one to read.
func logHint(hc hintContext) string {
	if hc.logPath == "" || !fileExists(hc.logPath) {
		return ""
	}
	return "; its log is " + hc.logPath
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
