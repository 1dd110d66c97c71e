package commands

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

// lsWidth is the width `hsp ls` keeps to, names cut to fit.
const lsWidth = 80

func lsCommand() *cli.Command {
	return &cli.Command{
		Name:  "ls",
		Usage: "list the cores the daemon stores",
		Description: `One line per core, ordered by key. Keys are cut to the shortest prefix
that tells them apart (at least 8 characters, which every command taking a
KEY accepts); --long prints them whole. With --json: {"cores": [CoreInfo,
...]}, keys whole.

` + clientExitStatus(),
		Flags: []cli.Flag{&cli.BoolFlag{Name: "long", Aliases: []string{"l"}, Usage: "print whole keys"}},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("ls takes no arguments")
			}
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
	return out.result(list, func(w io.Writer) { printCoreTable(out, w, list.Cores, c.Bool("long")) })
}

// printCoreTable writes the cores as a table: numbers right-aligned, byte
// counts for people, names escaped and, without long, cut to fit 80
// columns.
func printCoreTable(out *output, w io.Writer, cores []rpc.CoreInfo, long bool) {
	if len(cores) == 0 {
		fmt.Fprintln(w, "no cores are stored here; `hsp create` makes one")
		return
	}
	keys := make([]string, len(cores))
	for i, ci := range cores {
		keys[i] = ci.Key.String()
	}
	keyWidth := 64
	if !long {
		keyWidth = shortKeys(keys)
	}
	rows := [][]string{{"KEY", "LENGTH", "BYTES", "WRITABLE", "PEERS", "SEEDING", "NAME"}}
	for i, ci := range cores {
		rows = append(rows, []string{keys[i][:keyWidth], strconv.FormatUint(ci.Length, 10),
			humanBytes(ci.ByteLength), yesNo(ci.Writable), strconv.FormatUint(uint64(ci.Peers), 10),
			yesNo(ci.Seeding), printable(ci.Name)})
	}
	widths := make([]int, 6)
	for _, r := range rows {
		for j := range widths {
			widths[j] = max(widths[j], len(r[j]))
		}
	}
	for i, r := range rows {
		line := fmt.Sprintf("%-*s  %*s  %*s  %-*s  %*s  %-*s  ", widths[0], r[0], widths[1], r[1], widths[2], r[2],
			widths[3], r[3], widths[4], r[4], widths[5], r[5])
		name := r[6]
		if room := lsWidth - len(line); !long && utf8.RuneCountInString(name) > room {
			name = cut(name, max(room, 4))
		}
		line = strings.TrimRight(line+name, " ")
		if i == 0 {
			out.dim.Fprintln(w, line)
		} else {
			fmt.Fprintln(w, line)
		}
	}
}

// cut shortens s to n characters, the last one an ellipsis.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// humanBytes writes a byte count for people: 512 B, 1.5 KiB, 16 MiB.
func humanBytes(n uint64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v, u := float64(n)/1024, 0
	for v >= 1024 && u < len(units)-1 {
		v, u = v/1024, u+1
	}
	if v < 10 && v != float64(int(v)) {
		return fmt.Sprintf("%.1f %s", v, units[u])
	}
	return fmt.Sprintf("%.0f %s", v, units[u])
}
