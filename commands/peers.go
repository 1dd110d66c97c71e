package commands

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

func peersCommand() *cli.Command {
	return &cli.Command{
		Name:      "peers",
		Usage:     "list the connected replication peers",
		ArgsUsage: "[KEY]",
		Description: `Lists the daemon's connected peers: address, public key, transport, the
cores replicating with each (with KEY, only the peers of that core), the
block bytes sent and received, and the peers cut off since the daemon
started, counted by reason. With --json: {"peers": [Peer, ...],
"disconnects": {"reason": N, ...}}. KEY may be a unique prefix of a
stored core.

` + clientExitStatus(ExitNotFound),
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usagef("peers takes at most one KEY")
			}
			if err := checkKeyArgs(c.Args().Slice()...); err != nil {
				return err
			}
			return withClient(c, func(client *rpc.Client) error { return peers(c, client) })
		},
	}
}

func peers(c *cli.Context, client *rpc.Client) error {
	pl, err := client.Peers(c.Context)
	if err != nil {
		return err
	}
	if c.NArg() == 1 {
		key, err := keyOf(c, client, c.Args().First())
		if err != nil {
			return err
		}
		pl.Peers = peersOf(pl.Peers, key.DiscoveryKey())
	}
	out := outputOf(c)
	return out.result(pl, func(w io.Writer) { printPeers(out, w, pl) })
}

// peersOf keeps the peers replicating the core of discovery key dk.
func peersOf(peers []rpc.Peer, dk rpc.DiscoveryKey) []rpc.Peer {
	kept := []rpc.Peer{}
	for _, p := range peers {
		if slices.Contains(p.DiscoveryKeys, dk) {
			kept = append(kept, p)
		}
	}
	return kept
}

func printPeers(out *output, w io.Writer, pl rpc.PeerList) {
	if len(pl.Peers) == 0 {
		fmt.Fprintln(w, "no peers are connected")
	}
	for _, p := range pl.Peers {
		dir := "in"
		if p.Initiator {
			dir = "out"
		}
		fmt.Fprintf(w, "%-21s %-3s %-3s ", p.RemoteAddress, p.Type, dir)
		out.key.Fprint(w, p.RemotePublicKey)
		fmt.Fprintf(w, "  %d core%s  ↑ %s  ↓ %s\n", len(p.DiscoveryKeys), plural(len(p.DiscoveryKeys)),
			humanBytes(p.UploadedBytes), humanBytes(p.DownloadedBytes))
	}
	if len(pl.Disconnects) > 0 {
		out.dim.Fprint(w, "cut off:")
		for _, reason := range slices.Sorted(maps.Keys(pl.Disconnects)) {
			fmt.Fprintf(w, " %s %d", reason, pl.Disconnects[reason])
		}
		fmt.Fprintln(w)
	}
}
