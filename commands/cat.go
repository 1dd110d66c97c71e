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
{"type":"block","index":N,"data":"<base64>"}. A --start or an --end past
the length is an error unless --live, which waits for the blocks and then
keeps printing new ones until interrupted. KEY may be a unique prefix of at
least 8 hex characters.

` + clientExitStatus(ExitNotFound, ExitRange),
		Flags: []cli.Flag{
			&cli.Uint64Flag{Name: "start", Usage: "first block `N`", DefaultText: "0"},
			&cli.Uint64Flag{Name: "end", Usage: "stop before block `M`", DefaultText: "the core's length"},
			&cli.BoolFlag{Name: "live", Usage: "wait for and print new blocks"},
			&cli.BoolFlag{Name: "raw", Usage: "print the bytes back to back"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("cat needs exactly one KEY")
			}
			if err := checkKeyArgs(c.Args().First()); err != nil {
				return err
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
		if start > length {
			return fmt.Errorf("--start %d is past the core's length %d (use --live to wait): %w", start, length, rpc.ErrOutOfRange)
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
	raw, enc := c.Bool("raw"), json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	err = rc.Read(c.Context, start, end, live, func(i uint64, b []byte) error {
		var err error
		switch {
		case out.json:
			err = enc.Encode(rpc.BlockRecord{Type: "block", Index: i, Data: b})
		case raw:
			_, err = w.Write(b)
		default:
			if _, err = w.Write(b); err == nil {
				err = w.WriteByte('\n')
			}
		}
		if err == nil && live {
			err = w.Flush()
		}
		if err != nil {
			return fmt.Errorf("write block %d: %w", i, err)
		}
		return nil
	})
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}
