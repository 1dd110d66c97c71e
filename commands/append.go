package commands

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

// Limits of one append call the CLI makes while reading stdin.
const (
	appendBatchBlocks = 1024
	appendBatchBytes  = 16 << 20
)

func appendCommand() *cli.Command {
	return &cli.Command{
		Name:      "append",
		Usage:     "append blocks to a core and print its new length",
		ArgsUsage: "KEY [BLOCK...]",
		Description: `Blocks come from the arguments, one each. Without any, they come from
stdin: one block per line with the newline stripped (an empty line is an
empty block), or with --chunk N, stdin cut into N-byte blocks (the last may
be shorter). Blocks from stdin are appended in batches of up to 1024 blocks
or 16 MiB; each batch is atomic, the whole input is not. A block is at most
8 MiB. KEY may be a unique prefix of at least 8 hex characters.

` + clientExitStatus(ExitNotFound, ExitDiskFull),
		Flags: []cli.Flag{&cli.IntFlag{Name: "chunk", Usage: "cut stdin into blocks of `N` bytes (not with BLOCK arguments)"}},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usagef("append needs a KEY")
			}
			if err := checkKeyArgs(c.Args().First()); err != nil {
				return err
			}
			if c.IsSet("chunk") && c.NArg() > 1 {
				return usagef("--chunk cuts stdin into blocks: give BLOCK arguments or --chunk, not both")
			}
			if c.IsSet("chunk") && (c.Int("chunk") < 1 || c.Int("chunk") > rpc.MaxBlockSize) {
				return usagef("--chunk must be between 1 and %d bytes", rpc.MaxBlockSize)
			}
			return withClient(c, func(client *rpc.Client) error { return appendBlocks(c, client) })
		},
	}
}

func appendBlocks(c *cli.Context, client *rpc.Client) error {
	rc, err := openCore(c, client, c.Args().First())
	if err != nil {
		return err
	}
	defer rc.Close()
	res := rpc.AppendResult{Key: rc.Key()}
	res.Length, res.ByteLength = rc.Known()
	flush := func(blocks [][]byte) error {
		if _, err := rc.Append(c.Context, blocks...); err != nil {
			return err
		}
		res.Appended += uint64(len(blocks))
		res.Length, res.ByteLength = rc.Known() // as the append answered
		return nil
	}
	if args := c.Args().Tail(); len(args) > 0 {
		blocks := make([][]byte, len(args))
		for i, a := range args {
			blocks[i] = []byte(a)
		}
		err = flush(blocks)
	} else {
		stdinHint(c)
		err = readBlocks(c.App.Reader, c.Int("chunk"), flush)
	}
	if err != nil {
		return err
	}
	return outputOf(c).result(res, func(w io.Writer) { fmt.Fprintln(w, res.Length) })
}

// readBlocks cuts r into blocks (lines, or chunks of size bytes) and hands
// them to flush in batches.
func readBlocks(r io.Reader, size int, flush func([][]byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), rpc.MaxBlockSize+1)
	if size > 0 {
		sc.Split(chunks(size))
	} else {
		sc.Split(lines)
	}
	var batch [][]byte
	bytesIn, n := 0, 0
	for sc.Scan() {
		b := bytes.Clone(sc.Bytes())
		n++
		if len(b) > rpc.MaxBlockSize {
			return tooLong(n)
		}
		batch, bytesIn = append(batch, b), bytesIn+len(b)
		if len(batch) >= appendBatchBlocks || bytesIn >= appendBatchBytes {
			if err := flush(batch); err != nil {
				return err
			}
			batch, bytesIn = nil, 0
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return tooLong(n + 1)
		}
		return fmt.Errorf("read stdin: %w", err)
	}
	if len(batch) > 0 {
		return flush(batch)
	}
	return nil
}

// tooLong is the error of line n of stdin, past the largest block.
func tooLong(n int) error {
	return rpc.Tagged(fmt.Sprintf("line %d of stdin is longer than 8 MiB, the largest block; "+
		"to append data that is not lines, cut it with --chunk N", n), rpc.ErrBlockTooLarge)
}

// stdinHint tells a person at a terminal that append waits for their
// input, and how to end it.
func stdinHint(c *cli.Context) {
	if f, ok := c.App.Reader.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		if size := c.Int("chunk"); size > 0 {
			fmt.Fprintf(c.App.ErrWriter, "hsp: reading blocks of %d bytes from stdin; Ctrl-D to end\n", size)
		} else {
			fmt.Fprintln(c.App.ErrWriter, "hsp: reading blocks from stdin, one per line; Ctrl-D to end")
		}
	}
}

// lines splits at "\n" only: "\r" is data, an empty line is an empty block,
// and a last line without a newline still counts.
func lines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// chunks splits into blocks of size bytes, the last one possibly shorter.
func chunks(size int) bufio.SplitFunc {
	return func(data []byte, atEOF bool) (int, []byte, error) {
		if len(data) >= size {
			return size, data[:size], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	}
}
