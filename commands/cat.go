package commands

import (
	"bufio"
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

func catCommand() *cli.Command {
	return &cli.Command{
		Name:      "cat",
		Usage:     "print a core's blocks",
		ArgsUsage: "KEY",
		Description: `Prints blocks [--start, --end) of the core, each followed by a newline;
with --raw, the bytes back to back (so 'append --chunk' then 'cat --raw'
gives back a file); with --json, one line per block:
{"type":"block","index":N,"data":"<base64>"}. --end defaults to the length;
an --end past the length is an error unless --live, which waits for the
blocks and then keeps printing new ones until interrupted.

` + exitStatusHelp,
		Flags: []cli.Flag{
			&cli.Uint64Flag{Name: "start", Usage: "first block `N`"},
			&cli.Uint64Flag{Name: "end", Usage: "stop before block `M`"},
			&cli.BoolFlag{Name: "live", Usage: "wait for and print new blocks"},
			&cli.BoolFlag{Name: "raw", Usage: "print the bytes back to back"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("cat needs exactly one KEY")
			}
			if c.IsSet("end") && c.Uint64("end") < c.Uint64("start") {
				return usagef("--end %d is before --start %d", c.Uint64("end"), c.Uint64("start"))
			}
			return withClient(c, func(client *rpc.Client) error { return catBlocks(c, client) })
		},
	}
}

func catBlocks(c *cli.Context, client *rpc.Client) error {
	rc, err := openCore(c, client, c.Args().First())
	if err != nil {
		return err
	}
	defer rc.Close()
	start, end, live := c.Uint64("start"), c.Uint64("end"), c.Bool("live")
	if length, _ := rc.Known(); !live {
		if !c.IsSet("end") {
			end = length
		}
		if end > length {
			return fmt.Errorf("--end %d is past the core's length %d (use --live to wait): %w", end, length, rpc.ErrOutOfRange)
		}
		if start >= end {
			return nil
		}
	}
	out := outputOf(c)
	w := bufio.NewWriterSize(out.stdout, 256<<10)
	defer w.Flush()
	raw, enc := c.Bool("raw"), json.NewEncoder(w)
	return rc.Read(c.Context, start, end, live, func(i uint64, b []byte) error {
		switch {
		case out.json:
			if err := enc.Encode(rpc.BlockRecord{Type: "block", Index: i, Data: b}); err != nil {
				return fmt.Errorf("write block %d: %w", i, err)
			}
		case raw:
			w.Write(b)
		default:
			w.Write(b)
			w.WriteByte('\n')
		}
		if live {
			return w.Flush()
		}
		return nil
	})
}
