package commands

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/daemon"
	"github.com/hspd/hsp/rpc"
)

func daemonCommand() *cli.Command {
	return &cli.Command{
		Name:  "daemon",
		Usage: "run the hsp daemon in the foreground, or start, stop or check one",
		Description: `Without a subcommand, runs the daemon on the home (--home, else $HSP_HOME,
else $XDG_DATA_HOME/hsp, else ~/.local/share/hsp) in the foreground until
SIGINT, SIGTERM or 'hsp daemon stop', logging to stderr. A daemon already
running on the same home is left alone: this command says so and exits 0.

` + exitStatusHelp,
		Action: runDaemon,
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "idle-timeout", Value: daemon.DefaultIdleTimeout, Usage: "unload a core no client has used for `DURATION`"},
			&cli.IntFlag{Name: "max-loaded", Value: daemon.DefaultMaxLoaded, Usage: "keep at most `N` idle cores loaded"},
			&cli.StringFlag{Name: "host", Value: "127.0.0.1", Usage: "with --port, the TCP `HOST` to serve RPC on"},
			&cli.IntFlag{Name: "port", Usage: "also serve RPC on TCP `PORT`; every TCP client presents the home's token"},
			&cli.IntFlag{Name: "max-clients", Usage: "serve at most `N` clients at once on each listener; past it a client exits 8 busy (default: 512, or less to fit the open-file limit)"},
			&cli.StringFlag{Name: "reserve", Value: "default", Usage: "keep `SIZE` free on the disk (64MiB, 1GB, ...; 0 turns the check off): past it writes fail, exit 6"},
			&cli.StringFlag{Name: "log-file", Usage: "log to `FILE`, rotated past 10 MiB with three old files kept (default: stderr)"},
			&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"HSP_LOG_LEVEL"}, Usage: "log at `LEVEL` and above: debug, info, warn or error"},
			&cli.StringFlag{Name: "trace", EnvVars: []string{"HSP_TRACE"}, Usage: "log everything, debug included, of the subsystems `PKG,...` (gc, capnp, swarm, ...; all for every one)"},
		},
		Subcommands: []*cli.Command{
			{Name: "start", Usage: "start a detached daemon and wait until it answers", Action: daemonStart,
				Description: "The daemon runs in its own session, with its output in the home's daemon.log.\n\n" + exitStatusHelp},
			{Name: "stop", Usage: "stop the daemon and wait until it is gone", Action: daemonStop,
				Description: "Stopping a home where no daemon runs succeeds.\n\n" + exitStatusHelp},
			{Name: "status", Usage: "describe the running daemon; never starts one", Action: daemonStatus,
				Description: exitStatusHelp},
		},
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
	level, err := daemon.ParseLogLevel(c.String("log-level"))
	if err != nil {
		return usagef("--log-level: %v", err)
	}
	reserve, err := reserveOf(c.String("reserve"))
	if err != nil {
		return usagef("--reserve: %v", err)
	}
	var logTo io.Writer = c.App.ErrWriter
	if f := c.String("log-file"); f != "" {
		lf := daemon.OpenLogFile(f, 10)
		defer lf.Close()
		logTo = lf
	}
	log := daemon.NewLogger(logTo, level, splitList(c.String("trace")))
	d, err := daemon.New(daemon.Options{
		Home: p.Home, Socket: p.Socket, Logger: log,
		IdleTimeout: c.Duration("idle-timeout"), MaxLoaded: c.Int("max-loaded"),
		TCPAddr: tcpAddr(c), MaxClients: c.Int("max-clients"), Reserve: reserve,
	})
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

func daemonStart(c *cli.Context) error {
	out := outputOf(c)
	p, err := pathsOf(c)
	if err != nil {
		return err
	}
	res := rpc.DaemonResult{Home: p.Home, Socket: p.Socket, Running: true}
	client, err := rpc.Dial(c.Context, p.Socket)
	if errors.Is(err, rpc.ErrDaemonUnreachable) {
		var sp *spawned
		if sp, err = spawnDaemon(c.Context, c, p); err == nil {
			client, err = dialWait(c.Context, p.Socket, spawnWait, sp)
			res.Started = true
		}
	}
	if err != nil {
		return err
	}
	defer client.Close()
	st, err := client.Status(c.Context)
	if err != nil {
		return err
	}
	res.Pid = st.Pid
	return out.result(res, func(w io.Writer) {
		verb := "already running"
		if res.Started {
			verb = "started"
		}
		fmt.Fprintf(w, "daemon %s (pid %d) on %s\n", verb, res.Pid, res.Socket)
	})
}

func daemonStop(c *cli.Context) error {
	out := outputOf(c)
	p, err := pathsOf(c)
	if err != nil {
		return err
	}
	res := rpc.DaemonResult{Home: p.Home, Socket: p.Socket}
	client, err := rpc.Dial(c.Context, p.Socket)
	if err == nil {
		st, _ := client.Status(c.Context)
		res.Pid = st.Pid
		err = client.Stop(c.Context)
		client.Close()
		if err == nil || errors.Is(err, rpc.ErrDaemonUnreachable) { // it may hang up before answering
			err = waitGone(p.Socket, 15*time.Second)
			res.Stopped = err == nil
		}
	}
	if err != nil && !errors.Is(err, rpc.ErrDaemonUnreachable) {
		return err
	}
	return out.result(res, func(w io.Writer) {
		if res.Stopped {
			fmt.Fprintf(w, "daemon stopped (pid %d)\n", res.Pid)
		} else {
			fmt.Fprintf(w, "no daemon running on %s\n", p.Home)
		}
	})
}

// waitGone waits until nothing answers on the socket.
func waitGone(socket string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		if _, err := os.Stat(socket); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the daemon did not stop within %v", wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func daemonStatus(c *cli.Context) error {
	p, err := pathsOf(c)
	if err != nil {
		return err
	}
	client, err := rpc.Dial(c.Context, p.Socket)
	if err != nil {
		return err
	}
	defer client.Close()
	return printStatus(c, client)
}

// reserveOf reads --reserve as daemon.Options.Reserve: "default" is 0
// (the store's default), 0 is negative (no check).
func reserveOf(s string) (int64, error) {
	if s == "default" {
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

// tcpAddr is the TCP address of --host and --port, or "" without --port.
func tcpAddr(c *cli.Context) string {
	if !c.IsSet("port") {
		return ""
	}
	return net.JoinHostPort(c.String("host"), strconv.Itoa(c.Int("port")))
}
