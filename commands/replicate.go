package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

// noChannelGrace is how long replicate waits for a connected peer to open
// the core before it concludes that none has it.
var noChannelGrace = 10 * time.Second

func replicateCommand() *cli.Command {
	return &cli.Command{
		Name:      "replicate",
		Usage:     "download a core from peers",
		ArgsUsage: "KEY",
		Description: `Has the daemon find the core's peers through the DHT (its topic is the
core's discovery key), and connect to those given with --peer too
(HOST:PORT, another hsp daemon's swarm port or a JS hypercore peer),
dialling again with backoff when a connection drops, and download the
core: all of it (up to
the longest length a peer announces when the download starts), or blocks
[--start, --end). It exits 0 once every block is verified and synced to
disk, and closes the connections it opened. With --live it keeps
following new blocks until interrupted.

On a terminal a progress bar on stderr shows blocks, bytes, rate, peers
and the time left, and "waiting for peers" while none replicates the core.
With --json: {"type":"progress",...} lines, then one {"type":"done",...}.
Exit 7 (unavailable) when the DHT knows no peer of the core and no --peer
was given, when no peer can be reached, when the peers do not have the
core, or when --timeout passes first (no timeout by default).
KEY is the whole key (64 hex characters or hyper://...), or a unique
prefix of a core stored here.

` + clientExitStatus(ExitUnavailable, ExitDiskFull),
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "peer", Usage: "a peer's `HOST:PORT` (repeat for more)"},
			&cli.Uint64Flag{Name: "start", Usage: "first block `N`", DefaultText: "0"},
			&cli.Uint64Flag{Name: "end", Usage: "stop before block `M`", DefaultText: "the peers' length"},
			&cli.BoolFlag{Name: "live", Usage: "keep downloading new blocks until interrupted"},
			&cli.DurationFlag{Name: "timeout", Usage: "give up (exit 7) after `DURATION` (default: wait)"},
		},
		Action: func(c *cli.Context) error {
			req, err := replicateRequest(c)
			if err != nil {
				return err
			}
			return withClient(c, func(client *rpc.Client) error { return replicate(c, client, req) })
		},
	}
}

// replicateReq is what the command line asks for.
type replicateReq struct {
	key     string
	peers   []string
	r       rpc.DownloadRange
	timeout time.Duration
}

func replicateRequest(c *cli.Context) (replicateReq, error) {
	if c.NArg() != 1 {
		return replicateReq{}, usagef("replicate needs exactly one KEY")
	}
	if err := checkKeyArgs(c.Args().First()); err != nil {
		return replicateReq{}, err
	}
	req := replicateReq{key: c.Args().First(), peers: c.StringSlice("peer"), timeout: c.Duration("timeout")}
	for _, p := range req.peers {
		if i := strings.LastIndexByte(p, ':'); i <= 0 || i == len(p)-1 {
			return req, usagef("--peer %q: give HOST:PORT", p)
		}
	}
	req.r = rpc.DownloadRange{Start: c.Uint64("start"), End: c.Uint64("end"), Live: c.Bool("live"), Discover: true}
	switch {
	case req.r.Live && c.IsSet("end"):
		return req, usagef("--live and --end do not go together")
	case c.IsSet("end") && req.r.End < req.r.Start:
		return req, usagef("--end %d is before --start %d", req.r.End, req.r.Start)
	case !c.IsSet("end") && !req.r.Live:
		req.r.ToPeers = true
	}
	return req, nil
}

func replicate(c *cli.Context, client *rpc.Client, req replicateReq) error {
	ctx := c.Context
	if req.r.Live { // Ctrl-C ends a live download: its done record, exit 0
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	if req.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.timeout)
		defer cancel()
	}
	rc, err := openForReplication(c, client, req.key)
	if err != nil {
		return err
	}
	defer rc.Close()
	var conns []*rpc.Connection
	if len(req.peers) > 0 {
		if conns, err = connectPeers(ctx, client, req.peers); err != nil {
			return timedOut(err, req)
		}
	}
	defer closeAll(conns)
	dl, err := rc.DownloadRange(ctx, req.r)
	if err != nil {
		return timedOut(err, req)
	}
	defer dl.Release()
	w := newWatch(c, rc.Key(), len(conns))
	return timedOut(w.run(ctx, dl, req.r.Live), req)
}

// openForReplication opens the core KEY names, recording it if it is not
// stored yet (a prefix must name a stored core).
func openForReplication(c *cli.Context, client *rpc.Client, arg string) (*rpc.RemoteCore, error) {
	key, err := keyOf(c, client, arg)
	if err != nil {
		return nil, err
	}
	return client.Open(c.Context, rpc.OpenRequest{Key: &key})
}

// connectPeers has the daemon connect to every peer; it fails only when
// none could be reached, naming why for each.
func connectPeers(ctx context.Context, client *rpc.Client, peers []string) ([]*rpc.Connection, error) {
	var conns []*rpc.Connection
	var failed []string
	for _, addr := range peers {
		conn, err := client.Connect(ctx, addr)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, rpc.ErrNetworkUnavailable) { // not the peer's fault
				closeAll(conns)
				return nil, err
			}
			failed = append(failed, err.Error())
			continue
		}
		conns = append(conns, conn)
	}
	if len(conns) == 0 {
		return nil, rpc.Tagged("no peer could be reached: "+strings.Join(failed, "; "), rpc.ErrUnavailable)
	}
	return conns, nil
}

func closeAll(conns []*rpc.Connection) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, conn := range conns {
		conn.Close(ctx)
	}
}

// timedOut turns the end of --timeout into the unavailable error.
func timedOut(err error, req replicateReq) error {
	if err != nil && req.timeout > 0 && errors.Is(err, context.DeadlineExceeded) {
		return rpc.Tagged(fmt.Sprintf("--timeout %v passed before the download was complete", req.timeout), rpc.ErrUnavailable)
	}
	return err
}

// noPeerHasIt is the error when the connected peers do not have the core.
func noPeerHasIt(key rpc.Key, p rpc.DownloadProgress, waited time.Duration) error {
	if p.Refused > 0 {
		return rpc.Tagged(fmt.Sprintf("the peers do not have core %s (%d of %d closed it)", key, p.Refused, p.Connections), rpc.ErrUnavailable)
	}
	return rpc.Tagged(fmt.Sprintf("no peer opened core %s within %v: they do not have it", key, waited), rpc.ErrUnavailable)
}

// noPeerFound is the error when the DHT knows no peer of the core, or
// none of those it knows could be reached. For the latter the daemon
// tells why the last dial failed: its direct dial's error and, when the
// peer came with a DHT node that can relay, the holepunch's.
func noPeerFound(key rpc.Key, p rpc.DownloadProgress) error {
	if p.Found == 0 {
		return rpc.Tagged(fmt.Sprintf("no peer of core %s found through the DHT (%d lookup%s)", key, p.Lookups, plural(int(p.Lookups))), rpc.ErrUnavailable)
	}
	if p.Unreachable == 0 {
		return rpc.Tagged(fmt.Sprintf("found peers of core %s through the DHT (listed %d time%s in %d lookup%s) but none answered within %v",
			key, p.Found, plural(int(p.Found)), p.Lookups, plural(int(p.Lookups)), 2*noChannelGrace), rpc.ErrUnavailable)
	}
	return rpc.Tagged(fmt.Sprintf("found peers of core %s through the DHT (listed %d time%s in %d lookup%s) but reached none of the %d dialled: %s (last attempt: %s)",
		key, p.Found, plural(int(p.Found)), p.Lookups, plural(int(p.Lookups)), p.Unreachable, unreachableReason(p.DialError), p.DialError), rpc.ErrUnavailable)
}

// unreachableReason says what a failed dial means for people.
func unreachableReason(dialErr string) string {
	if strings.Contains(dialErr, "holepunch") {
		return "the peer is not reachable through its NAT: a direct connection failed and so did a holepunch " +
			"relayed by the DHT node that listed it, as happens behind a NAT that maps ports per destination " +
			"(symmetric) or a firewall that lets nothing in (on that peer `hsp status` says holepunchable: false)"
	}
	return "a direct connection failed and no holepunch could be tried (no relaying DHT node, or a build without uTP)"
}
