package commands

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/daemon"
)

func daemonCommand() *cli.Command {
	return &cli.Command{
		Name:  "daemon",
		Usage: "run the hsp daemon in the foreground, or start, stop or check one",
		Description: `Without a subcommand, runs the daemon on the home (--home, else $HSP_HOME,
else $XDG_DATA_HOME/hsp, else ~/.local/share/hsp) in the foreground until
SIGINT, SIGTERM or 'hsp daemon stop', logging to stderr. A daemon already
running on the same home is left alone: this command says so and exits 0.
Its settings come from the home's config file ('hsp config'), then from
these flags, which override the file for this start only.

` + exitStatus(ExitOK, ExitError, ExitUsage, ExitDiskFull),
		Action: runDaemon,
		Flags:  daemonFlags(),
		Subcommands: []*cli.Command{
			{Name: "start", Usage: "start a detached daemon and wait until it answers", Action: daemonStart, Flags: daemonFlags(),
				Description: "The daemon runs in its own session, logging to the home's daemon.log. It takes\n" +
					"the same flags as 'hsp daemon'; against a running daemon whose settings differ\n" +
					"from those asked for, start says so and exits 1.\n\n" + exitStatus(ExitOK, ExitError, ExitUsage, ExitUnreachable, ExitDiskFull, ExitBusy)},
			{Name: "stop", Usage: "stop the daemon and wait until it is gone", Action: daemonStop,
				Description: "Stopping a home where no daemon runs succeeds. With --connect, stops that daemon.\n\n" + clientExitStatus()},
			{Name: "status", Usage: "describe the running daemon; never starts one", Action: daemonStatus,
				Description: clientExitStatus()},
			daemonInstallServiceCommand(),
		},
	}
}

// daemonFlags are the flags of `hsp daemon` and `hsp daemon start`; each
// but --log-file is a setting of the config file too.
func daemonFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "idle-timeout", Value: daemon.DefaultIdleTimeout, Usage: "unload a core no client has used for `DURATION`"},
		&cli.IntFlag{Name: "max-loaded", Value: daemon.DefaultMaxLoaded, Usage: "keep at most `N` idle cores loaded"},
		&cli.StringFlag{Name: "host", Value: "127.0.0.1", Usage: "with --port, the TCP `HOST` to serve RPC on"},
		&cli.IntFlag{Name: "port", Usage: "also serve RPC on TCP `PORT`; every TCP client presents the home's token"},
		&cli.IntFlag{Name: "max-clients", Usage: "serve at most `N` clients at once on each listener; past it a client exits 8 busy (default: 512, or less to fit the open-file limit)"},
		&cli.StringFlag{Name: "reserve", DefaultText: "64MiB", Usage: "keep `SIZE` free on the disk (64MiB, 1GB, ...; 0 turns the check off): past it writes fail, exit 6"},
		&cli.StringFlag{Name: "log-file", Usage: "log to `FILE`, rotated past 10 MiB with three old files kept (default: stderr)"},
		&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"HSP_LOG_LEVEL"}, Usage: "log at `LEVEL` and above: debug, info, warn or error"},
		&cli.StringFlag{Name: "swarm-host", Usage: "listen for peers on `HOST` (default: every interface)"},
		&cli.IntFlag{Name: "swarm-port", Usage: "listen for peers on `PORT`, from the start (default: a random port, chosen on first need and remembered in the config file)"},
		&cli.IntFlag{Name: "max-peers", Value: 256, Usage: "keep at most `N` replication connections"},
		&cli.StringFlag{Name: "bootstrap", EnvVars: []string{"HSP_BOOTSTRAP"}, Usage: "join the DHT through the nodes `HOST:PORT,...` (none: no other node; default: the public Hyperswarm 2 nodes)"},
		&cli.StringFlag{Name: "stun", Usage: "ask the STUN servers `HOST:PORT,...` for the public address, from the swarm's UDP port (default: none; the DHT's nodes tell it too)"},
		&cli.StringFlag{Name: "serve", Value: "all", Usage: "serve peers `WHICH` stored cores: all (any a peer knows the key of) or announced"},
		&cli.StringFlag{Name: "trace", EnvVars: []string{"HSP_TRACE"}, Usage: "log everything, debug included, of the subsystems `PKG,...` (gc, capnp, swarm, ...; all for every one)"},
	}
}

func runDaemon(c *cli.Context) error {
	if c.Args().Present() {
		return usagef("no daemon subcommand %q", c.Args().First())
	}
	p, err := pathsOf(c)
	if err != nil {
		return err
	}
	set, err := effectiveSettings(c, p)
	if err != nil {
		return err
	}
	var logTo io.Writer = c.App.ErrWriter
	if f := c.String("log-file"); f != "" {
		lf := daemon.OpenLogFile(f, 10)
		defer lf.Close()
		logTo = lf
	}
	opts, err := daemonOptions(set, logTo)
	if err != nil {
		return err
	}
	opts.Home, opts.Socket = p.Home, p.Socket
	d, err := daemon.New(opts)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := d.Start(ctx); err != nil {
		if errors.Is(err, daemon.ErrAlreadyRunning) {
			fmt.Fprintf(c.App.ErrWriter, "hsp: a daemon is already running on %s\n", p.Home)
			return nil
		}
		return err
	}
	<-d.Done()
	return d.Err()
}

// daemonOptions turns checked settings into the daemon's options; absent
// keys leave the daemon's defaults.
func daemonOptions(set map[string]string, logTo io.Writer) (daemon.Options, error) {
	opts := daemon.Options{Settings: set, TCPAddr: tcpAddrOf(set)}
	level, err := daemon.ParseLogLevel(valueOr(set["log-level"], "info"))
	if err != nil {
		return opts, usagef("log-level: %v", err)
	}
	opts.Logger = daemon.NewLogger(logTo, level, splitList(set["trace"]))
	if v, ok := set["idle-timeout"]; ok {
		opts.IdleTimeout, _ = time.ParseDuration(v)
	}
	if v, ok := set["max-loaded"]; ok {
		opts.MaxLoaded, _ = strconv.Atoi(v)
	}
	if v, ok := set["max-clients"]; ok {
		opts.MaxClients, _ = strconv.Atoi(v)
	}
	if v, ok := set["max-peers"]; ok {
		opts.MaxPeers, _ = strconv.Atoi(v)
	}
	opts.SwarmHost = set["swarm-host"]
	if v, ok := set["swarm-port"]; ok {
		opts.SwarmPort, _ = strconv.Atoi(v)
	}
	if v, ok := set["bootstrap"]; ok {
		opts.Bootstrap, _ = parseBootstrap(v)
	}
	if v, ok := set["stun"]; ok {
		opts.STUN, _ = parseSTUN(v)
	}
	opts.ServeAnnounced = set["serve"] == "announced"
	if v, ok := set["reserve"]; ok {
		opts.Reserve, err = reserveOf(v)
	}
	return opts, err
}

func valueOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// reserveOf reads a reserve as daemon.Options.Reserve: "default" is 0
// (the store's default), 0 is negative (no check).
func reserveOf(s string) (int64, error) {
	if s == "default" || s == "" {
		return 0, nil
	}
	n, err := parseSize(s)
	if n == 0 && err == nil {
		return -1, nil
	}
	return n, err
}

// splitList reads a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
