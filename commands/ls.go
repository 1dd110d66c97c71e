package commands

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

func lsCommand() *cli.Command {
	return &cli.Command{
		Name:        "ls",
		Usage:       "list the cores the daemon stores",
		Description: "With --json: {\"cores\": [CoreInfo, ...]} ordered by key.\n\n" + exitStatusHelp,
		Action: func(c *cli.Context) error {
			return withClient(c, func(client *rpc.Client) error { return ls(c, client) })
		},
	}
}

func ls(c *cli.Context, client *rpc.Client) error {
	cores, err := client.List(c.Context)
	if err != nil {
		return err
	}
	list := rpc.CoreList{Cores: cores}
	if list.Cores == nil {
		list.Cores = []rpc.CoreInfo{}
	}
	out := outputOf(c)
	return out.result(list, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tLENGTH\tBYTES\tWRITABLE\tNAME")
		for _, ci := range list.Cores {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%v\t%s\n", ci.Key, ci.Length, ci.ByteLength, ci.Writable, ci.Name)
		}
		tw.Flush()
	})
}
