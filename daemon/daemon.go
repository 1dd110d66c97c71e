package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hspd/hsp/core/store"
	"github.com/hspd/hsp/home"
	"github.com/hspd/hsp/rpc"
)

// Options configure a Daemon. Home is required; the rest have defaults.
type Options struct {
	// Home is the daemon's directory (see home.PathsFor).
	Home string
	// Socket overrides the socket path derived from Home.
	Socket string
	// Logger receives the daemon's log; nil discards it.
	Logger *slog.Logger
	// OnClientOpen and OnClientClose observe RPC client connections.
	OnClientOpen, OnClientClose func(id uint64)
	// ShutdownTimeout bounds a clean shutdown; 0 means 10 s.
	ShutdownTimeout time.Duration
	// IdleTimeout is how long a core no client uses stays loaded; 0 means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxLoaded caps the loaded cores: past it the least recently used
	// idle ones are closed. 0 means DefaultMaxLoaded.
	MaxLoaded int
	// Store tunes the store; the zero value is the durable default.
	Store store.Options
	// Reserve, when not 0, is the free space writes must leave on the
	// disk (store.Options.MinFreeBytes): negative turns the check off.
	Reserve int64
	// Settings are the settings the daemon was started with, as the
	// config file and flags gave them; Status reports them.
	Settings map[string]string
	// TCPAddr, when set, also serves RPC on this TCP host:port; every TCP
	// client must present the home's token (home.Paths.Token).
	TCPAddr string
	// MaxClients caps the clients served at once on each listener; 0 means
	// rpc.DefaultMaxClients, lowered to fit the file descriptor limit.
	MaxClients int
	// SwarmHost and SwarmPort are where the swarm listens for peers: TCP,
	// and the DHT on UDP with the same number. The swarm starts on
	// first need; with a SwarmPort, at once. Without one it takes a random
	// port and remembers it in the config file (swarm-port), so it stays
	// the same across restarts.
	SwarmHost string
	SwarmPort int
	// MaxPeers caps the replication connections; 0 means 256.
	MaxPeers int
	// Bootstrap lists the DHT's bootstrap nodes as HOST:PORT; nil means
	// DefaultBootstrap, an empty list none (the node is a seed).
	Bootstrap []string
	// STUN lists STUN servers (HOST:PORT) asked for our public address
	// from the swarm's UDP socket; none by default.
	STUN []string
	// ServeAnnounced serves peers only the cores the daemon announces;
	// by default a peer that knows a stored core's key gets it.
	ServeAnnounced bool
}

// DefaultBootstrap is the public Hyperswarm 2 bootstrap list, as
// hyperspace 3 uses it.
var DefaultBootstrap = []string{
	"bootstrap1.hyperdht.org:49737",
	"bootstrap2.hyperdht.org:49737",
	"bootstrap3.hyperdht.org:49737",
}

// Daemon is one hsp server on one home.
type Daemon struct {
	opts  Options
	paths home.Paths
	log   *slog.Logger

	lock     *homeLock
	store    *store.Store
	loaded   *loadedSet
	listener net.Listener
	tcp      net.Listener
	token    string // required of TCP clients; "" when not
	server   *rpc.Server
	net      network
	swarm    *swarmNet

	settingsMu sync.Mutex // guards opts.Settings, which the swarm port joins
	started    time.Time

	cancel   context.CancelFunc
	stopOnce sync.Once
	stopped  chan struct{} // closed by requestStop
	done     chan struct{} // closed when Run's shutdown completes
	err      error
}

// New prepares a daemon; nothing is touched until Start.
func New(opts Options) (*Daemon, error) {
	if opts.Home == "" {
		return nil, errors.New("new daemon: Options.Home is required")
	}
	dir, err := home.ResolveHome(opts.Home, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("new daemon: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = 10 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.MaxLoaded <= 0 {
		opts.MaxLoaded = DefaultMaxLoaded
	}
	if opts.Reserve != 0 {
		opts.Store.MinFreeBytes = opts.Reserve
	}
	d := &Daemon{opts: opts, paths: home.PathsFor(dir, os.Getenv), log: log,
		stopped: make(chan struct{}), done: make(chan struct{})}
	if opts.Socket != "" {
		d.paths.Socket = opts.Socket
	}
	return d, nil
}

// Paths returns the daemon's files.
func (d *Daemon) Paths() home.Paths { return d.paths }

// Start locks the home, opens the store and begins serving on the socket.
// When it returns without error the daemon is ready: clients can dial. It
// serves until ctx ends, a client calls Stop, or Close is called.
// ErrAlreadyRunning means another daemon holds the home.
func (d *Daemon) Start(ctx context.Context) error {
	if err := d.open(ctx); err != nil {
		d.closeResources()
		close(d.done)
		return err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	d.started = time.Now()
	d.loaded = newLoadedSet(d.opts.IdleTimeout, d.opts.MaxLoaded, d.log.With("pkg", "gc"))
	d.swarm = newSwarmNet(d.log, d.store, d.loaded, swarmOptions{
		host: d.opts.SwarmHost, port: d.opts.SwarmPort, eager: d.opts.SwarmPort != 0,
		maxPeers: d.opts.MaxPeers, remember: d.rememberSwarmPort, bootstrap: d.bootstrap(),
		stun: d.opts.STUN, serveAnnounced: d.opts.ServeAnnounced, stopping: sctx.Done(),
	})
	d.net = d.swarm
	d.server = rpc.NewServer(newBackend(d, d.store, d.loaded, d.net), d.serverOptions())
	wait, failed := runAll(sctx, d.subsystems())
	go d.run(ctx, wait, failed)
	d.log.Info("daemon ready", "home", d.paths.Home, "socket", d.paths.Socket, "pid", os.Getpid(), "version", rpc.Version)
	return nil
}

func (d *Daemon) open(ctx context.Context) error {
	if err := privateDir(d.paths.Home); err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	lock, err := lockHome(d.paths.Lock, d.paths.Socket)
	if err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	d.lock = lock
	if d.store, err = store.Open(ctx, d.paths.Storage, d.opts.Store); err != nil {
		return fmt.Errorf("start daemon: open store: %w", storeErr(err))
	}
	if err := d.store.Writable(); err != nil {
		d.log.Warn("the disk is full: serving reads, refusing writes until space is freed", "err", err)
	}
	if err := d.listenTCP(); err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	if d.listener, err = listenSocket(d.paths.Socket); err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	return nil
}

// listenTCP opens the TCP listener, if asked for, and decides its token.
func (d *Daemon) listenTCP() error {
	if d.opts.TCPAddr == "" {
		return nil
	}
	l, err := net.Listen("tcp", d.opts.TCPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", d.opts.TCPAddr, err)
	}
	d.tcp = l
	if d.token, err = home.EnsureToken(d.paths.Token); err != nil {
		return err
	}
	d.log.Info("serving rpc over tcp", "addr", l.Addr().String(), "token", d.paths.Token)
	return nil
}

// rememberSwarmPort keeps the port the swarm chose in the config file, so
// the next start listens on the same one.
func (d *Daemon) rememberSwarmPort(port int) error {
	cfg, err := home.LoadConfig(d.paths.Config)
	if err != nil {
		return err
	}
	if _, set := cfg.Get("swarm-port"); set {
		return nil
	}
	cfg.Set("swarm-port", strconv.Itoa(port))
	if err := cfg.Save(); err != nil {
		return err
	}
	d.settingsMu.Lock()
	set := maps.Clone(d.opts.Settings)
	if set == nil {
		set = map[string]string{}
	}
	set["swarm-port"] = strconv.Itoa(port)
	d.opts.Settings = set // as if started with it: the config file says so now
	d.settingsMu.Unlock()
	d.log.Info("remembered the swarm port in the config file", "port", port, "config", d.paths.Config)
	return nil
}

// settings are the settings the daemon runs with.
func (d *Daemon) settings() map[string]string {
	d.settingsMu.Lock()
	defer d.settingsMu.Unlock()
	return d.opts.Settings
}

// SwarmAddr returns the address the swarm listens on, or nil before it
// started.
func (d *Daemon) SwarmAddr() net.Addr {
	if d.swarm == nil || !d.swarm.running() {
		return nil
	}
	return d.swarm.sw.Addr()
}

// TCPAddr returns the address of the TCP listener, or nil.
func (d *Daemon) TCPAddr() net.Addr {
	if d.tcp == nil {
		return nil
	}
	return d.tcp.Addr()
}

// run waits for a reason to stop, then shuts down.
func (d *Daemon) run(ctx context.Context, wait func() error, failed <-chan struct{}) {
	select {
	case <-ctx.Done():
		d.log.Info("stopping", "reason", context.Cause(ctx))
	case <-d.stopped:
	case <-failed:
	}
	d.shutdown(wait)
	close(d.done)
}

// shutdown removes the socket, stops every subsystem (which ends every
// session), waits for them within the shutdown timeout, then closes the
// store and releases the lock.
func (d *Daemon) shutdown(wait func() error) {
	if err := removeSocket(d.paths.Socket); err != nil {
		d.log.Warn("shutdown", "err", err)
	}
	d.cancel()
	ended := make(chan error, 1)
	go func() { ended <- wait() }()
	select {
	case err := <-ended:
		if err != nil {
			d.log.Error("subsystem failed", "err", err)
			d.err = err
		}
	case <-time.After(d.opts.ShutdownTimeout):
		d.log.Error("shutdown is taking longer than allowed: sessions did not end in time", "timeout", d.opts.ShutdownTimeout)
	}
	if err := d.closeResources(); err != nil && d.err == nil {
		d.err = err
	}
	d.log.Info("daemon stopped")
}

// closeResources closes what open created, in reverse order.
func (d *Daemon) closeResources() error {
	var errs []error
	if d.listener != nil {
		d.listener.Close()
	}
	if d.tcp != nil {
		d.tcp.Close()
	}
	if d.loaded != nil {
		d.loaded.closeAll()
	}
	if d.store != nil {
		errs = append(errs, d.store.Close())
	}
	if d.lock != nil {
		errs = append(errs, d.lock.release())
	}
	return errors.Join(errs...)
}

func (d *Daemon) requestStop() { d.stopOnce.Do(func() { close(d.stopped) }) }

// Done is closed once the daemon has shut down.
func (d *Daemon) Done() <-chan struct{} { return d.done }

// Err returns what made the daemon stop abnormally, after Done.
func (d *Daemon) Err() error { return d.err }

// Close stops the daemon and waits until it has shut down. Closing a
// daemon that was never started does nothing.
func (d *Daemon) Close() error {
	if d.started.IsZero() && d.cancel == nil {
		select {
		case <-d.done:
		default:
			return nil
		}
	}
	d.requestStop()
	<-d.done
	return d.err
}

func (d *Daemon) clientOpened(id uint64) {
	d.log.Info("client-open", "client", id, "clients", d.server.Clients())
	if d.opts.OnClientOpen != nil {
		d.opts.OnClientOpen(id)
	}
}

func (d *Daemon) clientClosed(id uint64) {
	d.log.Info("client-close", "client", id, "clients", d.server.Clients())
	if d.opts.OnClientClose != nil {
		d.opts.OnClientClose(id)
	}
}

// bootstrap is the DHT's bootstrap list: the configured one, else the
// public one.
func (d *Daemon) bootstrap() []string {
	if d.opts.Bootstrap == nil {
		return DefaultBootstrap
	}
	return d.opts.Bootstrap
}
