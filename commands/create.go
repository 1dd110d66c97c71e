package commands

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

func createCommand() *cli.Command {
	return &cli.Command{
		Name:  "create",
		Usage: "create a writable core and print its key",
		Description: `A named core (--name) is derived from the daemon's master key: creating
the same name again returns the same core. Without a name the core is new
and random.

` + clientExitStatus(ExitDiskFull),
		Flags: []cli.Flag{&cli.StringFlag{Name: "name", Usage: "derive the core from `NAME`"}},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("create takes no arguments")
			}
			return withClient(c, func(client *rpc.Client) error { return create(c, client) })
		},
	}
}

func create(c *cli.Context, client *rpc.Client) error {
	req := rpc.OpenRequest{Name: c.String("name"), New: c.String("name") == ""}
	rc, err := client.Open(c.Context, req)
	if err != nil {
		return err
	}
	defer rc.Close()
	res := rpc.CreateResult{Key: rc.Key(), DiscoveryKey: rc.DiscoveryKey(), Name: rc.Name(), Writable: rc.Writable()}
	return outputOf(c).result(res, func(w io.Writer) { fmt.Fprintln(w, res.Key) })
}
