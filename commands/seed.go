package commands

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

func seedCommand() *cli.Command {
	return &cli.Command{
		Name:      "seed",
		Usage:     "keep cores available to peers, across restarts",
		ArgsUsage: "KEY...",
		Description: `Seeds each core: the daemon announces it on the DHT and looks it up, and,
for a core written elsewhere, downloads every block its peers have and each
new one as it comes. The daemon remembers it: after a restart it seeds the
core again, so a daemon left running (see 'hsp daemon install-service')
keeps the core online. 'hsp unseed' undoes it; 'hsp ls' and 'hsp info' show
what is seeded. A KEY the daemon does not store yet must be whole (64 hex
characters): the core is then recorded and downloaded. With --json:
{"cores": [{"key", "discoveryKey", "seeding": true}, ...]}.

` + clientExitStatus(ExitNotFound, ExitUnavailable),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("seed needs at least one KEY")
			}
			if err := checkKeyArgs(c.Args().Slice()...); err != nil {
				return err
			}
			return withClient(c, func(client *rpc.Client) error { return seed(c, client, true) })
		},
	}
}

// seed seeds (on) or unseeds every KEY argument, in order, and prints the
// result; it stops at the first failure.
func seed(c *cli.Context, client *rpc.Client, on bool) error {
	list := rpc.SeedList{Cores: []rpc.SeedResult{}}
	out := outputOf(c)
	render := func(w io.Writer) {
		for _, s := range list.Cores {
			if s.Seeding {
				fmt.Fprint(w, "seeding ")
			} else {
				fmt.Fprint(w, "no longer seeding ")
			}
			out.key.Fprintln(w, s.Key)
		}
	}
	for _, arg := range c.Args().Slice() {
		key, err := keyOf(c, client, arg)
		if err != nil {
			return err
		}
		if on {
			err = client.Seed(c.Context, key)
		} else {
			err = client.Unseed(c.Context, key)
		}
		if err != nil {
			if len(list.Cores) > 0 {
				out.result(list, render) // what was done before it
			}
			return err
		}
		list.Cores = append(list.Cores, rpc.SeedResult{Key: key, DiscoveryKey: key.DiscoveryKey(), Seeding: on})
	}
	return out.result(list, render)
}
