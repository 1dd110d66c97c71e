package commands

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/daemon"
	"github.com/hspd/hsp/rpc"
)

func daemonCommand() *cli.Command {
	return &cli.Command{
		Name:  "daemon",
		Usage: "run the hsp daemon in the foreground",
		Description: `Runs the daemon on the home directory (--home, else $HSP_HOME, else
$XDG_DATA_HOME/hsp, else ~/.local/share/hsp) until SIGINT, SIGTERM or
'hsp daemon stop'. A daemon already running on the same home is left alone:
this command then says so and exits 0.

EXIT STATUS
   0  the daemon ran and stopped cleanly, or one was already running
   1  the daemon failed to start or stopped on an error`,
		Action: runDaemon,
	}
}

func runDaemon(c *cli.Context) error {
	home, err := rpc.ResolveHome(c.String("home"), os.Getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: slog.LevelInfo}))
	d, err := daemon.New(daemon.Options{Home: home, Socket: c.String("socket"), Logger: log})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := d.Start(ctx); err != nil {
		if errors.Is(err, daemon.ErrAlreadyRunning) {
			fmt.Fprintf(c.App.ErrWriter, "hsp: a daemon is already running on %s\n", home)
			return nil
		}
		return err
	}
	<-d.Done()
	return d.Err()
}
