package commands

import (
	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

func unseedCommand() *cli.Command {
	return &cli.Command{
		Name:      "unseed",
		Usage:     "stop seeding cores and forget them",
		ArgsUsage: "KEY...",
		Description: `Stops seeding each core: the daemon leaves its topic (unannouncing it from
the DHT), stops downloading it and forgets it, so it does not come back
after a restart. The data stays: 'hsp rm' deletes it. Unseeding a core that
is not seeded does nothing. With --json: {"cores": [{"key", "discoveryKey",
"seeding": false}, ...]}.

` + clientExitStatus(ExitNotFound),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("unseed needs at least one KEY")
			}
			if err := checkKeyArgs(c.Args().Slice()...); err != nil {
				return err
			}
			return withClient(c, func(client *rpc.Client) error { return seed(c, client, false) })
		},
	}
}
