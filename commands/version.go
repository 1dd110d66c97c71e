package commands

import (
	"fmt"
	"io"
	"runtime"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

// versionResult is what `hsp --json version` prints.
type versionResult struct {
	// Version is this build's release.
	Version string `json:"version"`
	// Protocol is the RPC protocol it speaks.
	Protocol int `json:"protocol"`
	// Go is the Go release it was built with.
	Go string `json:"go"`
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:        "version",
		Usage:       "print hsp's version (as --version does)",
		Description: exitStatus(ExitOK, ExitError),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("version takes no arguments")
			}
			return printVersion(c)
		},
	}
}

// printVersion prints the release, and under --json the protocol and the
// Go release too.
func printVersion(c *cli.Context) error {
	res := versionResult{Version: rpc.Version, Protocol: int(rpc.Protocol), Go: runtime.Version()}
	return outputOf(c).result(res, func(w io.Writer) { fmt.Fprintf(w, "hsp version %s\n", res.Version) })
}
