package commands

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

func infoCommand() *cli.Command {
	return &cli.Command{
		Name:      "info",
		Usage:     "describe cores (every stored one without a KEY)",
		ArgsUsage: "[KEY...]",
		Description: `Describes the cores given, in that order, or every core stored here when
none is. A KEY may be a unique prefix of at least 8 hex characters. With
--json: {"cores": [CoreInfo, ...]}.

` + clientExitStatus(ExitNotFound),
		Action: func(c *cli.Context) error {
			if err := checkKeyArgs(c.Args().Slice()...); err != nil {
				return err
			}
			return withClient(c, func(client *rpc.Client) error { return info(c, client) })
		},
	}
}

func info(c *cli.Context, client *rpc.Client) error {
	args := c.Args().Slice()
	if len(args) == 0 {
		cores, err := client.List(c.Context)
		if err != nil {
			return err
		}
		for _, ci := range cores {
			args = append(args, ci.Key.String())
		}
	}
	list := rpc.CoreList{Cores: []rpc.CoreInfo{}}
	for _, arg := range args {
		rc, err := openCore(c, client, arg)
		if err != nil {
			return err
		}
		list.Cores = append(list.Cores, rc.OpenInfo()) // open answered it
		rc.Close()
	}
	out := outputOf(c)
	return out.result(list, func(w io.Writer) {
		if len(list.Cores) == 0 {
			fmt.Fprintln(w, "no cores are stored here; `hsp create` makes one")
		}
		for i, ci := range list.Cores {
			if i > 0 {
				fmt.Fprintln(w)
			}
			printCoreInfo(out, w, ci)
		}
	})
}

// networkLine is a core's place in the swarm as hyp's info puts it: "2
// connected · seeding".
func networkLine(ci rpc.CoreInfo) string {
	s := fmt.Sprintf("%d connected · ", ci.Peers)
	if ci.Seeding {
		return s + "seeding"
	}
	return s + "not seeding"
}

func printCoreInfo(out *output, w io.Writer, ci rpc.CoreInfo) {
	row := func(name, format string, args ...any) {
		out.dim.Fprintf(w, "%-13s ", name)
		fmt.Fprintf(w, format+"\n", args...)
	}
	out.dim.Fprintf(w, "%-13s ", "key")
	out.key.Fprintln(w, ci.Key)
	row("discoveryKey", "%s", ci.DiscoveryKey)
	row("length", "%d blocks, %d bytes (%s)", ci.Length, ci.ByteLength, humanBytes(ci.ByteLength))
	row("downloaded", "%d blocks", ci.Downloaded)
	row("writable", "%v", ci.Writable)
	row("network", "%s", networkLine(ci))
	row("transfer", "%s up, %s down", humanBytes(ci.UploadedBytes), humanBytes(ci.DownloadedBytes))
	if ci.Name != "" {
		row("name", "%s", printable(ci.Name))
	}
}
