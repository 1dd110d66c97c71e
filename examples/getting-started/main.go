// Command getting-started is Hyperspace's "Getting Started" walkthrough
// in Go, on packages daemon and rpc:
//
//	go run ./examples/getting-started [-v]
//
// It starts a DHT node of its own on 127.0.0.1 for the servers to meet
// through (it never contacts the public DHT), then two servers in this
// process, "local" and "remote", each with its own storage and socket in
// a temporary directory. It logs each client that connects to a server
// and leaves it. On the local server it creates a core, appends "hello"
// and "world", and announces the core on the DHT; the remote server gets
// the core by its key, looks it up, and reads both blocks from the local
// one. Then it closes the clients, the servers and the DHT node, and
// removes the directory. -v also prints the servers' own log (info level)
// on stderr. docs/getting-started.md walks through it step by step.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/daemon"
	"github.com/hspd/hsp/rpc"
	"github.com/hspd/hsp/swarm/dht"
)

// timeout bounds the whole walkthrough; on 127.0.0.1 it takes a second
// or two.
const timeout = time.Minute

func main() {
	verbose := flag.Bool("v", false, "also print the servers' log (info level) on stderr")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	if err := run(ctx, os.Stdout, os.Stderr, level); err != nil {
		fmt.Fprintln(os.Stderr, "getting-started:", err)
		os.Exit(1)
	}
}

// run is the walkthrough. It prints its steps on out and the servers' log
// records at level and above on logs.
func run(ctx context.Context, out, logs io.Writer, level slog.Level) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p := &printer{w: out}
	dir, err := os.MkdirTemp("", "hsp-getting-started-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// First, a DHT node for the two servers to find each other through.
	boot, err := dht.Listen("127.0.0.1:0", dht.Options{Persistent: true})
	if err != nil {
		return err
	}
	defer closeDHT(p, boot)
	bootstrap := []string{boot.LocalAddr().String()}
	p.say("dht", "bootstrap node listening on %s", bootstrap[0])

	// Step 1 of the seed: two servers, each with its own storage and socket.
	log := daemon.NewLogger(logs, level, nil)
	local, err := startServer(ctx, p, log, "local", filepath.Join(dir, "local"), bootstrap)
	if err != nil {
		return err
	}
	defer local.close()
	remote, err := startServer(ctx, p, log, "remote", filepath.Join(dir, "remote"), bootstrap)
	if err != nil {
		return err
	}
	defer remote.close()

	// Step 2 of the seed: a client for each server, a core created on the
	// local one, and read on the remote one.
	localClient, err := local.dial(ctx)
	if err != nil {
		return err
	}
	defer local.hangUp(localClient)
	remoteClient, err := remote.dial(ctx)
	if err != nil {
		return err
	}
	defer remote.hangUp(remoteClient)

	key, err := createAndAnnounce(ctx, p, localClient)
	if err != nil {
		return err
	}
	return readRemotely(ctx, p, remoteClient, key)
}

// createAndAnnounce creates a core on the local server, appends two
// blocks and announces it, as the seed's localClient.replicate(core). It
// leaves the core open: the announce lasts as long as the client.
func createAndAnnounce(ctx context.Context, p *printer, c *rpc.Client) (core.Key, error) {
	rc, err := c.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		return core.Key{}, err
	}
	p.say("local", "created core %s", rc.Key())
	length, err := rc.Append(ctx, []byte("hello"), []byte("world"))
	if err != nil {
		return core.Key{}, err
	}
	p.say("local", "appended hello and world, length %d", length)
	logPeers(p, "local", rc)
	err = c.Configure(ctx, rc.DiscoveryKey(), rpc.ConfigureOptions{Announce: true, Lookup: true, Flush: true})
	if err != nil {
		return core.Key{}, err
	}
	p.say("local", "announced the core on the DHT")
	return rc.Key(), nil
}

// readRemotely opens the core on the remote server by its key, looks it
// up on the DHT, and reads both blocks from the local server.
func readRemotely(ctx context.Context, p *printer, c *rpc.Client, key core.Key) error {
	clone, err := c.Open(ctx, rpc.OpenRequest{Key: &key})
	if err != nil {
		return err
	}
	defer clone.Close()
	logPeers(p, "remote", clone)
	err = c.Configure(ctx, clone.DiscoveryKey(), rpc.ConfigureOptions{Announce: true, Lookup: true, Flush: true})
	if err != nil {
		return err
	}
	p.say("remote", "looked the core up on the DHT")
	for i := range uint64(2) {
		// A block the remote server lacks is fetched from its peers.
		b, err := clone.Get(ctx, i, core.GetOptions{Timeout: 10 * time.Second})
		if err != nil {
			return err
		}
		p.say("remote", "read block %d: %s", i, b)
	}
	return nil
}

// logPeers prints the core's peer-add events, as the seed's
// core.on('peer-add').
func logPeers(p *printer, who string, rc *rpc.RemoteCore) {
	rc.OnEvent(func(ev rpc.Event) {
		if ev.Type == "peer-add" && ev.Peer != nil {
			p.say(who, "replicating with a new peer, %s", ev.Peer.RemoteAddress)
		}
	})
}

// server is one daemon of the walkthrough, with the name its lines carry.
type server struct {
	name   string
	p      *printer
	d      *daemon.Daemon
	closed chan uint64 // the ids of the clients that left
}

// startServer starts a daemon on home, its storage and its socket: the
// seed's new HyperspaceServer({ storage, host }) and server.ready().
func startServer(ctx context.Context, p *printer, log *slog.Logger, name, home string, bootstrap []string) (*server, error) {
	s := &server{name: name, p: p, closed: make(chan uint64, 16)}
	d, err := daemon.New(daemon.Options{
		Home:      home,
		Logger:    log.With("server", name),
		SwarmHost: "127.0.0.1", // peers on this machine only
		Bootstrap: bootstrap,   // never the public DHT
		OnClientOpen: func(id uint64) {
			p.say(name, "client-open (client %d)", id)
		},
		OnClientClose: func(id uint64) {
			p.say(name, "client-close (client %d)", id)
			s.closed <- id
		},
	})
	if err != nil {
		return nil, err
	}
	if err := d.Start(ctx); err != nil {
		return nil, err
	}
	s.d = d
	p.say(name, "server ready, storage in %s, socket %s", home, d.Paths().Socket)
	return s, nil
}

// dial connects a client to the server's socket: the seed's
// new HyperspaceClient({ host }).
func (s *server) dial(ctx context.Context) (*rpc.Client, error) {
	return rpc.Dial(ctx, s.d.Paths().Socket)
}

// hangUp closes a client and waits until the server saw it go, so the
// lines come in order.
func (s *server) hangUp(c *rpc.Client) {
	if err := c.Close(); err != nil {
		s.p.say(s.name, "close client: %v", err)
	}
	select {
	case <-s.closed:
	case <-time.After(5 * time.Second):
	}
}

// close stops the server: it unannounces its cores, closes its storage
// and removes its socket.
func (s *server) close() {
	if err := s.d.Close(); err != nil {
		s.p.say(s.name, "server stopped: %v", err)
		return
	}
	s.p.say(s.name, "server closed")
}

func closeDHT(p *printer, n *dht.Node) {
	n.Close()
	p.say("dht", "bootstrap node closed")
}

// printer writes one line at a time: the servers' hooks and the cores'
// events print from their own goroutines.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) say(who, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%-7s %s\n", who+":", fmt.Sprintf(format, args...))
}
