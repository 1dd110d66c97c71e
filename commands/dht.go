package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
	"github.com/hspd/hsp/swarm/dht"
)

// dhtDefaultPort is the UDP port of Hyperswarm's bootstrap nodes.
const dhtDefaultPort = 49737

// dhtEventBuffer is how many events wait for the output before the
// newest are dropped (and counted in a "dropped" line).
const dhtEventBuffer = 4096

// dhtRetryMax caps the wait between bootstrap walks that nobody answered.
const dhtRetryMax = 30 * time.Second

func dhtCommand() *cli.Command {
	return &cli.Command{
		Name:  "dht",
		Usage: "run a Hyperswarm DHT node in the foreground",
		Description: `Runs a standalone Hyperswarm 2 DHT node on UDP --host:--port until SIGINT or
SIGTERM, without a daemon: a bootstrap node for a private network, or one
more node of an existing one. With no --bootstrap (nor $HSP_BOOTSTRAP), or
with "none", it is a seed that others bootstrap from; with HOST:PORT
entries it joins through those nodes, trying again after 1s, 2s, 4s ...
(at most 30s) while none answers. It is persistent (it sends its id, so
others keep it in their routing tables and store announcements with it)
unless --ephemeral.

It prints where it listens, then one line per event: a node joining or
leaving its routing table (with the table's size), a bootstrap walk that
was answered, and each announce, unannounce, lookup and holepunch it
serves. With --json: {"type":"listening",...}, then one typed line per
event (docs/json.md). Events that come faster than the output can take
are dropped and counted ("dropped"). A port already in use exits 1.

` + exitStatus(ExitOK, ExitError, ExitUsage),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "host", Value: "0.0.0.0", Usage: "listen on UDP `HOST`"},
			&cli.IntFlag{Name: "port", Value: dhtDefaultPort, Usage: "listen on UDP `PORT`, 0 for any free one"},
			&cli.StringSliceFlag{Name: "bootstrap", EnvVars: []string{"HSP_BOOTSTRAP"},
				Usage: "join the network through the nodes `HOST:PORT,...` (default: none, a seed)"},
			&cli.BoolFlag{Name: "ephemeral", Usage: "send no id: other nodes neither keep this one nor store announcements with it"},
		},
		Action: func(c *cli.Context) error {
			opts, err := dhtRequest(c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDHT(ctx, outputOf(c), opts)
		},
	}
}

// dhtOpts is what the command line asks for.
type dhtOpts struct {
	addr       string
	bootstrap  []string
	persistent bool
}

func dhtRequest(c *cli.Context) (dhtOpts, error) {
	if c.Args().Present() {
		return dhtOpts{}, usagef("dht takes no arguments")
	}
	port := c.Int("port")
	if port < 0 || port > 65535 {
		return dhtOpts{}, usagef("--port %d: give 0 to 65535", port)
	}
	boot, err := parseBootstrapList(c.StringSlice("bootstrap"))
	if err != nil {
		return dhtOpts{}, err
	}
	addr := net.JoinHostPort(c.String("host"), strconv.Itoa(port))
	return dhtOpts{addr: addr, bootstrap: boot, persistent: !c.Bool("ephemeral")}, nil
}

// parseBootstrapList reads --bootstrap's entries (each may list several,
// comma-separated) as the daemon's setting; none at all is a seed.
func parseBootstrapList(entries []string) ([]string, error) {
	joined := strings.Join(entries, ",")
	if len(splitList(joined)) == 0 {
		return []string{}, nil
	}
	boot, err := parseBootstrap(joined)
	if err != nil {
		return nil, usagef("--bootstrap: %v", err)
	}
	return boot, nil
}

// runDHT runs the node until ctx ends, printing its events.
func runDHT(ctx context.Context, out *output, opts dhtOpts) error {
	ev := &dhtEvents{c: make(chan any, dhtEventBuffer)}
	n, err := dht.Listen(opts.addr, dht.Options{Persistent: opts.persistent, Bootstrap: opts.bootstrap, OnEvent: ev.onEvent})
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("listen on UDP %s: %w: another DHT node may have it; choose another --port (0: any free port)", opts.addr, syscall.EADDRINUSE)
		}
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		ev.closing.Store(true) // the pings Close fails are not nodes leaving
		n.Close()
		wg.Wait()
	}()
	if err := ev.print(out, listeningRecord(n, opts)); err != nil {
		return err
	}
	if len(opts.bootstrap) > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); bootstrapDHT(ctx, n, ev, out, opts.bootstrap) }()
	}
	if err := ev.write(ctx, out); err != nil {
		return err
	}
	ev.closing.Store(true)
	return ev.drain(out)
}

func listeningRecord(n *dht.Node, opts dhtOpts) rpc.DHTListening {
	rec := rpc.DHTListening{Type: "listening", ID: n.ID().String(), Persistent: opts.persistent, Bootstrap: opts.bootstrap}
	if a, ok := n.LocalAddr().(*net.UDPAddr); ok {
		rec.Host, rec.Port = a.IP.String(), a.Port
	}
	return rec
}

// bootstrapDHT walks until a bootstrap node answers, waiting longer after
// each walk that none did: a bootstrap node may come up later.
func bootstrapDHT(ctx context.Context, n *dht.Node, ev *dhtEvents, out *output, boot []string) {
	wait := time.Second
	for attempt := 1; ; attempt++ {
		err := n.Bootstrap(ctx)
		if ctx.Err() != nil {
			return
		}
		if st := n.Status(); st.Bootstrapped {
			ev.send(rpc.DHTBootstrapped{Type: "bootstrapped", Nodes: st.Nodes, Attempts: attempt})
			return
		}
		why := "no bootstrap node answered (" + strings.Join(boot, ",") + ")"
		if err != nil && !errors.Is(err, dht.ErrNoNodes) {
			why = err.Error()
		}
		out.warn("%s; trying again in %v", why, wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, dhtRetryMax)
	}
}

// dhtEvents carries records from the node's OnEvent, which must not
// block, to the one goroutine that prints them.
type dhtEvents struct {
	c       chan any
	dropped atomic.Int64 // records that found c full, not yet reported
	closing atomic.Bool  // shutting down: take no more records
}

func (e *dhtEvents) onEvent(ev dht.Event) {
	if rec, ok := dhtRecord(ev); ok {
		e.send(rec)
	}
}

// send queues rec, after the count of the records dropped before it; it
// drops rec when the queue is full.
func (e *dhtEvents) send(rec any) {
	if e.closing.Load() {
		return
	}
	if d := e.dropped.Swap(0); d > 0 {
		select {
		case e.c <- rpc.DHTDropped{Type: "dropped", Events: int(d)}:
		default:
			e.dropped.Add(d + 1)
			return
		}
	}
	select {
	case e.c <- rec:
	default:
		e.dropped.Add(1)
	}
}

// write prints records until ctx ends or the output fails.
func (e *dhtEvents) write(ctx context.Context, out *output) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case rec := <-e.c:
			if err := e.print(out, rec); err != nil {
				return err
			}
		}
	}
}

// drain prints what is still queued, then the count of what was dropped.
func (e *dhtEvents) drain(out *output) error {
	for {
		select {
		case rec := <-e.c:
			if err := e.print(out, rec); err != nil {
				return err
			}
		default:
			if d := e.dropped.Swap(0); d > 0 {
				return e.print(out, rpc.DHTDropped{Type: "dropped", Events: int(d)})
			}
			return nil
		}
	}
}

func (e *dhtEvents) print(out *output, rec any) error {
	return out.result(rec, func(w io.Writer) { printDHTRecord(out, w, rec) })
}

// dhtRecord is the rpc record of a node's event.
func dhtRecord(e dht.Event) (any, bool) {
	switch e.Type {
	case dht.EventAnnounce, dht.EventUnannounce, dht.EventLookup:
		return rpc.DHTTopicEvent{Type: string(e.Type), Topic: e.Topic.String(), From: e.From.String()}, true
	case dht.EventHolepunch:
		return rpc.DHTHolepunchEvent{Type: "holepunch", From: e.From.String(), To: e.To.String()}, true
	case dht.EventAddNode, dht.EventRemoveNode:
		change := map[bool]string{true: "joined", false: "left"}[e.Type == dht.EventAddNode]
		return rpc.DHTNodesEvent{Type: "nodes", Change: change, NodeAddress: e.Node.Addr.String(),
			NodeID: e.Node.ID.String(), Nodes: e.Nodes}, true
	}
	return nil, false
}

// printDHTRecord writes one record as a line of text.
func printDHTRecord(out *output, w io.Writer, rec any) {
	switch r := rec.(type) {
	case rpc.DHTListening:
		mode, boot := "persistent", "seed"
		if !r.Persistent {
			mode = "ephemeral"
		}
		if len(r.Bootstrap) > 0 {
			boot = "bootstrap " + strings.Join(r.Bootstrap, ",")
		}
		fmt.Fprintf(w, "listening on %s · id ", net.JoinHostPort(r.Host, strconv.Itoa(r.Port)))
		out.key.Fprint(w, r.ID)
		fmt.Fprintf(w, " · %s · %s\n", mode, printable(boot))
	case rpc.DHTTopicEvent:
		fmt.Fprintf(w, "%-12s ", r.Type)
		out.key.Fprint(w, r.Topic)
		fmt.Fprintf(w, " from %s\n", r.From)
	case rpc.DHTHolepunchEvent:
		fmt.Fprintf(w, "%-12s %s → %s\n", r.Type, r.From, r.To)
	case rpc.DHTNodesEvent:
		fmt.Fprintf(w, "%-12s %s id ", r.Change, r.NodeAddress)
		out.key.Fprint(w, r.NodeID)
		out.dim.Fprintf(w, " · %d node%s\n", r.Nodes, plural(r.Nodes))
	case rpc.DHTBootstrapped:
		fmt.Fprintf(w, "%-12s", r.Type)
		out.dim.Fprintf(w, " · %d node%s · %d walk%s\n", r.Nodes, plural(r.Nodes), r.Attempts, plural(r.Attempts))
	case rpc.DHTDropped:
		fmt.Fprintf(w, "%-12s %d event%s: the output could not keep up\n", r.Type, r.Events, plural(r.Events))
	}
}
