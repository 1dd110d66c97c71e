package commands

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:        "status",
		Usage:       "describe the daemon (starting one if none runs)",
		Description: clientExitStatus(),
		Action: func(c *cli.Context) error {
			return withClient(c, func(client *rpc.Client) error { return printStatus(c, client) })
		},
	}
}

func printStatus(c *cli.Context, client *rpc.Client) error {
	st, err := client.Status(c.Context)
	if err != nil {
		return err
	}
	out := outputOf(c)
	return out.result(st, func(w io.Writer) {
		row := func(name, format string, args ...any) {
			out.dim.Fprintf(w, "%-9s ", name)
			fmt.Fprintf(w, format+"\n", args...)
		}
		row("version", "%s (protocol %d)", st.Version, st.Protocol)
		row("pid", "%d, up %v", st.Pid, (time.Duration(st.UptimeMs) * time.Millisecond).Round(time.Second))
		row("home", "%s", printable(st.Home))
		row("socket", "%s", printable(st.Socket))
		row("cores", "%d stored, %d loaded", st.CoresStored, st.CoresLoaded)
		row("clients", "%d", st.Clients)
		if n := st.Network; n.Available {
			host := n.Host
			if host == "" {
				host = "every interface"
			}
			row("network", "port %d on %s, %d peer%s, ↑ %s ↓ %s", n.Port, host, n.Peers, plural(int(n.Peers)),
				humanBytes(n.UploadedBytes), humanBytes(n.DownloadedBytes))
			row("peer key", "%s", n.PublicKey)
			row("dht", "%s", printable(dhtLine(n.DHT)))
			row("address", "%s", printable(addressLine(n)))
			for _, a := range n.STUN {
				row("stun", "%s", printable(stunLine(a)))
			}
			if len(n.Connections) > 0 {
				row("peers", "%s", printable(countsLine(n.Connections)))
			}
			for i, t := range n.Joined {
				if i == maxTopicRows {
					row("", "… %d more (hsp --json status lists them all)", len(n.Joined)-i)
					break
				}
				row("topic", "%s", topicLine(t))
			}
			if len(n.Disconnects) > 0 {
				row("cut off", "%s", printable(countsLine(n.Disconnects)))
			}
		} else if n.Error != "" {
			row("network", "%s", printable("unavailable: "+n.Error))
		} else {
			row("network", "off until first needed (hsp replicate, or a swarm-port setting)")
		}
		if len(st.Settings) > 0 {
			row("settings", "%s", printable(settingsLine(st.Settings)))
		}
	})
}

// maxTopicRows is how many joined topics the text status lists.
const maxTopicRows = 10

// topicLine says what a joined topic is for and what it found.
func topicLine(t rpc.TopicStatus) string {
	var why []string
	if t.Announce {
		why = append(why, "announced")
	}
	if t.Lookup {
		why = append(why, "looked up")
	}
	return fmt.Sprintf("%s %s, %d peer%s found in %d round%s", t.DiscoveryKey, strings.Join(why, " and "),
		t.Found, plural(int(t.Found)), t.Rounds, plural(int(t.Rounds)))
}

// addressLine says what we know of our public address: "203.0.113.7:4100
// (from the dht), holepunchable (from stun)".
func addressLine(n rpc.NetworkStatus) string {
	addr := "unknown (fewer than 3 DHT nodes answered; --stun asks a STUN server)"
	if n.RemoteAddress != "" {
		addr = fmt.Sprintf("%s (from the %s)", n.RemoteAddress, n.RemoteAddressFrom)
	}
	if n.Holepunchable {
		return fmt.Sprintf("%s, holepunchable (from the %s)", addr, n.HolepunchableFrom)
	}
	return addr + ", not known to be holepunchable"
}

// stunLine is one STUN server's answer.
func stunLine(a rpc.STUNAnswer) string {
	if a.Address != "" {
		return fmt.Sprintf("%s saw %s", a.Server, a.Address)
	}
	return fmt.Sprintf("%s: %s", a.Server, a.Error)
}

// dhtLine says where the DHT node stands.
func dhtLine(d rpc.DHTStatus) string {
	switch {
	case !d.Running:
		return "off"
	case len(d.Bootstrap) == 0:
		return fmt.Sprintf("%d node%s known, no bootstrap (a network of its own)", d.Nodes, plural(int(d.Nodes)))
	case d.Error != "":
		return fmt.Sprintf("%d node%s known; %s", d.Nodes, plural(int(d.Nodes)), d.Error)
	case !d.Bootstrapped:
		return fmt.Sprintf("bootstrapping through %s", strings.Join(d.Bootstrap, ", "))
	}
	return fmt.Sprintf("%d node%s known, bootstrapped through %s", d.Nodes, plural(int(d.Nodes)), strings.Join(d.Bootstrap, ", "))
}

// countsLine lists counts as "key N", sorted by key.
func countsLine(counts map[string]uint64) string {
	keys := slices.Sorted(maps.Keys(counts))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}

// settingsLine lists settings as key=value, sorted by key.
func settingsLine(set map[string]string) string {
	keys := slices.Sorted(maps.Keys(set))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + set[k]
	}
	return strings.Join(parts, " ")
}
