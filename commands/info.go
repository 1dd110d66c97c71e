package commands

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

func infoCommand() *cli.Command {
	return &cli.Command{
		Name:        "info",
		Usage:       "describe cores",
		ArgsUsage:   "KEY...",
		Description: "With --json: {\"cores\": [CoreInfo, ...]} in the order given.\n\n" + exitStatusHelp,
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usagef("info needs at least one KEY")
			}
			for _, arg := range c.Args().Slice() {
				if _, err := rpc.ParseKey(arg); err != nil {
					return err
				}
			}
			return withClient(c, func(client *rpc.Client) error { return info(c, client) })
		},
	}
}

func info(c *cli.Context, client *rpc.Client) error {
	var list rpc.CoreList
	for _, arg := range c.Args().Slice() {
		rc, err := openCore(c, client, arg)
		if err != nil {
			return err
		}
		list.Cores = append(list.Cores, rc.OpenInfo()) // open answered it
		rc.Close()
	}
	out := outputOf(c)
	return out.result(list, func(w io.Writer) {
		for i, ci := range list.Cores {
			if i > 0 {
				fmt.Fprintln(w)
			}
			printCoreInfo(out, w, ci)
		}
	})
}

func printCoreInfo(out *output, w io.Writer, ci rpc.CoreInfo) {
	row := func(name, format string, args ...any) {
		out.dim.Fprintf(w, "%-13s ", name)
		fmt.Fprintf(w, format+"\n", args...)
	}
	out.key.Fprintln(w, ci.Key)
	row("discoveryKey", "%s", ci.DiscoveryKey)
	row("length", "%d blocks, %d bytes", ci.Length, ci.ByteLength)
	row("downloaded", "%d blocks", ci.Downloaded)
	row("writable", "%v", ci.Writable)
	if ci.Name != "" {
		row("name", "%s", ci.Name)
	}
}
