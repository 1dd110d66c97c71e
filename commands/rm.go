package commands

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

func rmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "delete a core's data for good",
		ArgsUsage: "KEY",
		Description: `Asks for confirmation on a terminal; elsewhere --yes is required. A core
that a client holds open cannot be deleted. KEY may be a unique prefix of at
least 8 hex characters. Declining at the prompt exits 1.

` + clientExitStatus(ExitNotFound),
		Flags: []cli.Flag{&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("rm needs exactly one KEY")
			}
			if err := checkKeyArgs(c.Args().First()); err != nil {
				return err
			}
			return withClient(c, func(client *rpc.Client) error { return rm(c, client, c.Args().First()) })
		},
	}
}

func rm(c *cli.Context, client *rpc.Client, arg string) error {
	rc, err := openCore(c, client, arg)
	if err != nil {
		return err
	}
	length, _ := rc.Known()
	key := rc.Key()
	hexKey := key.String()
	rc.Close()
	if !c.Bool("yes") {
		if err := confirm(c, fmt.Sprintf("delete core %s (%d blocks) for good? [y/N] ", hexKey, length)); err != nil {
			return err
		}
	}
	if err := client.Delete(c.Context, key); err != nil {
		return err
	}
	res := rpc.DeleteResult{Key: key, Deleted: true}
	return outputOf(c).result(res, func(w io.Writer) { fmt.Fprintf(w, "deleted %s\n", hexKey) })
}

// confirm asks on the terminal; without one it refuses.
func confirm(c *cli.Context, question string) error {
	in, ok := c.App.Reader.(*os.File)
	if !ok || !isatty.IsTerminal(in.Fd()) {
		return usagef("not deleting without --yes: stdin is not a terminal")
	}
	fmt.Fprint(c.App.ErrWriter, question)
	answer, _ := bufio.NewReader(in).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return tagged{msg: "not deleted", errs: []error{errQuiet}}
	}
	return nil
}
