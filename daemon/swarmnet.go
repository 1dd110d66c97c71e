package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/core/store"
	"github.com/hspd/hsp/rpc"
	"github.com/hspd/hsp/swarm"
	"github.com/hspd/hsp/swarm/dht"
	"github.com/hspd/hsp/swarm/replicate"
	"github.com/hspd/hsp/swarm/wire"
)

// swarmOptions are the daemon's network settings.
type swarmOptions struct {
	host     string
	port     int  // 0: a random port, remembered once chosen
	eager    bool // start at boot (a port is configured)
	maxPeers int
	// bootstrap is the DHT's bootstrap list; empty makes the node a seed.
	bootstrap []string
	// remember keeps a randomly chosen port for the next start.
	remember func(port int) error
	// stun lists the STUN servers asked for our public address.
	stun []string
	// serveAnnounced serves peers only the announced cores.
	serveAnnounced bool
	// stopping is closed when the daemon begins to shut down: the
	// sessions that end then leave their topics to the swarm's own
	// shutdown, which unannounces them all at once.
	stopping <-chan struct{}
}

// swarmNet is the daemon's network: the swarm's connections, each running
// the replicator, which serves every stored core a peer opens and fetches
// what downloads and gets ask for. It starts on first need (a connect, a
// download) unless a port is configured, so a daemon used only locally
// opens no port.
type swarmNet struct {
	log    *slog.Logger
	store  *store.Store
	loaded *loadedSet
	opts   swarmOptions
	rep    *replicate.Replicator
	sw     *swarm.Swarm
	pub    core.Key

	need     chan struct{} // closed on first need
	needOnce sync.Once
	up       chan struct{} // closed once listening, or failed to
	upErr    error

	mu      sync.Mutex
	handles map[core.Key]*replicate.Handle // cores added to the replicator
	events  map[core.Key]*coreEvents       // their subscribers
	exts    map[core.DiscoveryKey][]*netExtension

	nw        *swarm.Networker
	downloads atomic.Uint64 // numbers the downloads' networker owners

	seedMu sync.Mutex
	seeds  map[core.Key]*seedRun
}

var _ network = (*swarmNet)(nil)

// newSwarmNet logs under pkg=net, and its subsystems each under their own
// pkg, all from root, so no record carries two.
func newSwarmNet(root *slog.Logger, st *store.Store, loaded *loadedSet, opts swarmOptions) *swarmNet {
	s := &swarmNet{
		log: root.With("pkg", "net"), store: st, loaded: loaded, opts: opts,
		need: make(chan struct{}), up: make(chan struct{}), handles: map[core.Key]*replicate.Handle{},
		events: map[core.Key]*coreEvents{}, exts: map[core.DiscoveryKey][]*netExtension{},
		seeds: map[core.Key]*seedRun{},
	}
	kp := wire.ReplicationKeyPair(st.MasterKey())
	s.pub = core.Key(kp.Public)
	s.rep = replicate.New(replicate.Options{Logger: root.With("pkg", "replicate"), Lookup: s.lookup, OnExtension: s.onExtension})
	s.sw = swarm.New(swarm.Options{
		Host: opts.host, Port: opts.port, KeyPair: kp, MaxPeers: opts.maxPeers,
		Handler: s.serve, Logger: root.With("pkg", "swarm"),
		DHT:  &dht.Options{Bootstrap: opts.bootstrap, Logger: root.With("pkg", "dht")},
		STUN: opts.stun,
	})
	s.nw = swarm.NewNetworker(s.sw, topicMemory{st})
	loaded.onClose = s.unloaded
	return s
}

// Run starts the swarm on first need, or at once with a configured port,
// and serves until ctx ends. A port that cannot be had is logged and
// answered to every network call; the daemon goes on serving locally.
func (s *swarmNet) Run(ctx context.Context) error {
	defer s.rep.Close()
	if !s.opts.eager && !s.remembers(ctx) {
		select {
		case <-s.need:
		case <-ctx.Done():
			return nil
		}
	}
	if err := s.sw.Listen(); err != nil {
		s.upErr = fmt.Errorf("start the swarm (another port: `hsp config set swarm-port N`, then restart the daemon): %w", err)
		close(s.up)
		s.log.Error("the swarm cannot listen; replication is off", "err", err)
		<-ctx.Done()
		return nil
	}
	port := s.sw.Addr().Port
	if s.opts.port == 0 && s.opts.remember != nil {
		if err := s.opts.remember(port); err != nil {
			s.log.Warn("remember the swarm port", "port", port, "err", err)
		}
	}
	close(s.up)
	s.log.Info("swarm listening", "addr", s.sw.Addr().String(), "publicKey", s.pub.String())
	go s.rejoin(ctx)
	defer s.stopSeeds()
	return s.sw.Run(ctx)
}

// ensure starts the network if it is not running and waits until it is.
func (s *swarmNet) ensure(ctx context.Context) error {
	s.needOnce.Do(func() { close(s.need) })
	select {
	case <-s.up:
		return s.upErr
	case <-ctx.Done():
		return fmt.Errorf("start the swarm: %w", ctx.Err())
	}
}

// running reports whether the swarm listens.
func (s *swarmNet) running() bool {
	select {
	case <-s.up:
		return s.upErr == nil
	default:
		return false
	}
}

// serve runs the replicator on one connection.
func (s *swarmNet) serve(ctx context.Context, st *wire.Stream, c swarm.Conn) error {
	s.log.Debug("peer connected", "addr", c.RemoteAddr, "publicKey", core.Key(c.RemotePublicKey).String(), "initiator", c.Initiator)
	err := s.rep.Run(ctx, st)
	s.log.Debug("peer gone", "addr", c.RemoteAddr, "err", err)
	return err
}

// lookup serves a stored core a peer opens: the loaded set lends it for
// as long as the replicator serves it.
func (s *swarmNet) lookup(ctx context.Context, dk core.DiscoveryKey) (replicate.Core, replicate.CoreOptions, bool) {
	if s.opts.serveAnnounced && !s.announced(dk) {
		return nil, replicate.CoreOptions{}, false
	}
	key, err := s.store.Lookup(ctx, dk)
	if err != nil {
		return nil, replicate.CoreOptions{}, false
	}
	h, release, err := s.loaded.acquire(ctx, &key, func(ctx context.Context) (*store.Handle, error) {
		return s.store.OpenKey(ctx, key)
	})
	if err != nil {
		s.log.Warn("serve a core a peer asked for", "discoveryKey", dk.String(), "err", err)
		return nil, replicate.CoreOptions{}, false
	}
	return h.Hypercore, replicate.CoreOptions{Sparse: true, Release: release}, true
}

// announced reports whether the daemon announces dk.
func (s *swarmNet) announced(dk core.DiscoveryKey) bool {
	return s.nw.Status(dk).Effective.Announce
}

// handle adds c to the replicator (once), so that it is opened with every
// peer and can fetch; it stays added until the loaded set unloads c.
func (s *swarmNet) handle(c *store.Handle) *replicate.Handle {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.handles[c.Key()]
	if h == nil {
		ev := s.events[c.Key()]
		if ev == nil {
			ev = &coreEvents{subs: map[int]func(rpc.Event){}}
			s.events[c.Key()] = ev
		}
		hold := &peerHold{loaded: s.loaded, key: c.Key()}
		opts := replicate.CoreOptions{Sparse: true, OnEvent: func(e replicate.Event) {
			hold.on(e)
			if ev.listened() { // an event a block: built only for subscribers
				ev.dispatch(s.eventOf(e))
			}
		}}
		if s.opts.serveAnnounced {
			dk := c.DiscoveryKey()
			opts.Serve = func() bool { return s.announced(dk) }
		}
		h = s.rep.Add(c.Hypercore, opts)
		s.handles[c.Key()] = h
	}
	return h
}

// follow calls fn for c's replication events until stop; c is added to
// the replicator for it.
func (s *swarmNet) follow(c *store.Handle, fn func(rpc.Event)) (stop func()) {
	s.handle(c)
	s.mu.Lock()
	ev := s.events[c.Key()]
	s.mu.Unlock()
	return ev.add(fn)
}

// eventOf is a replication event as the RPC tells it.
func (s *swarmNet) eventOf(e replicate.Event) rpc.Event {
	switch e.Kind {
	case replicate.Download:
		return rpc.Event{Type: "download", Index: e.Index, Bytes: e.Bytes}
	case replicate.Upload:
		return rpc.Event{Type: "upload", Index: e.Index, Bytes: e.Bytes}
	}
	conn := swarm.Conn{RemotePublicKey: e.Peer.RemotePublicKey}
	for _, c := range s.sw.Conns() {
		if c.RemotePublicKey == e.Peer.RemotePublicKey {
			conn = c
		}
	}
	p := peerOf(conn, replicate.PeerStats{})
	typ := "peer-add"
	if e.Kind == replicate.PeerRemove {
		typ = "peer-remove"
	}
	return rpc.Event{Type: typ, Peer: &p}
}

// peerHold keeps an added core loaded while peers replicate it: the
// replicator is one more user of the loaded set, from the first peer to
// the last.
type peerHold struct {
	loaded *loadedSet
	key    core.Key
	peers  int
	held   bool
}

// on counts the peers; it runs under the core's lock, so the use is
// given back from another goroutine (an unload takes that lock).
func (p *peerHold) on(e replicate.Event) {
	switch e.Kind {
	case replicate.PeerAdd:
		p.peers++
		if p.peers == 1 && !p.held {
			_, p.held = p.loaded.use(p.key)
		}
	case replicate.PeerRemove:
		p.peers--
		if p.peers == 0 && p.held {
			p.held = false
			go p.loaded.done(p.key)
		}
	}
}

// coreEvents are the subscribers to one core's replication events.
type coreEvents struct {
	mu    sync.Mutex
	next  int
	subs  map[int]func(rpc.Event)
	count atomic.Int32 // len(subs), read without the lock
}

// listened reports whether anyone subscribes.
func (ce *coreEvents) listened() bool { return ce.count.Load() > 0 }

func (ce *coreEvents) add(fn func(rpc.Event)) (stop func()) {
	ce.mu.Lock()
	defer ce.mu.Unlock()
	id := ce.next
	ce.next++
	ce.subs[id] = fn
	ce.count.Store(int32(len(ce.subs)))
	return func() {
		ce.mu.Lock()
		defer ce.mu.Unlock()
		delete(ce.subs, id)
		ce.count.Store(int32(len(ce.subs)))
	}
}

func (ce *coreEvents) dispatch(ev rpc.Event) {
	ce.mu.Lock()
	defer ce.mu.Unlock()
	for _, fn := range ce.subs {
		fn(ev)
	}
}

// unloaded takes a core the loaded set closes off the replicator.
func (s *swarmNet) unloaded(c *store.Handle) {
	s.mu.Lock()
	h := s.handles[c.Key()]
	delete(s.handles, c.Key())
	delete(s.events, c.Key())
	s.mu.Unlock()
	if h != nil {
		h.Remove()
	}
}

func (s *swarmNet) Status() rpc.NetworkStatus {
	if !s.running() {
		select {
		case <-s.up:
			return rpc.NetworkStatus{Error: s.upErr.Error()}
		default:
			return rpc.NetworkStatus{}
		}
	}
	t := s.rep.Totals()
	joined := s.joined()
	st := rpc.NetworkStatus{
		Available: true, PublicKey: s.pub, Port: uint16(s.sw.Addr().Port), Host: s.opts.host,
		Peers: uint32(len(s.sw.Conns())), UploadedBytes: t.UploadedBytes, DownloadedBytes: t.DownloadedBytes,
		Disconnects: s.disconnects(), DHT: s.dhtStatus(), Connections: s.connectionsByTransport(),
		Joined: joined, Topics: uint32(len(joined)),
	}
	s.publicAddress(&st)
	return st
}

// publicAddress fills in our address as seen from outside, from the DHT
// and STUN.
func (s *swarmNet) publicAddress(st *rpc.NetworkStatus) {
	pa := s.sw.PublicAddress()
	if pa.Addr.IsValid() {
		st.RemoteAddress, st.RemoteAddressFrom = pa.Addr.String(), pa.AddrFrom
	}
	st.Holepunchable, st.HolepunchableFrom = pa.Holepunchable, pa.HolepunchableFrom
	for _, r := range pa.STUN {
		a := rpc.STUNAnswer{Server: r.Server, Error: r.Err}
		if r.Mapped.IsValid() {
			a.Address = r.Mapped.String()
		} else if a.Error == "" {
			a.Error = "no answer yet"
		}
		st.STUN = append(st.STUN, a)
	}
}

// dhtStatus describes the DHT node; a node no bootstrap node answered
// says so, and the daemon goes on serving.
func (s *swarmNet) dhtStatus() rpc.DHTStatus {
	out := rpc.DHTStatus{Bootstrap: append([]string{}, s.opts.bootstrap...)}
	n := s.sw.DHT()
	if n == nil {
		return out
	}
	st := n.Status()
	out.Running, out.Nodes, out.Bootstrapped, out.Persistent = true, uint32(st.Nodes), st.Bootstrapped, st.Persistent
	if !st.Bootstrapped && st.BootstrapWalks > 0 {
		out.Error = fmt.Sprintf("no bootstrap node answered (%s); retrying in the background", strings.Join(s.opts.bootstrap, ", "))
	}
	return out
}

// disconnects counts the peers cut off: by the replicator for what they
// sent, by the swarm at the door.
func (s *swarmNet) disconnects() map[string]uint64 {
	out := s.rep.Disconnects()
	st := s.sw.Stats()
	for reason, n := range map[string]uint64{"handshake failed": st.HandshakeFailed, "too many peers": st.RejectedFull} {
		if n > 0 {
			out[reason] += n
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (s *swarmNet) Peers(ctx context.Context) (rpc.PeerList, error) {
	out := rpc.PeerList{Peers: []rpc.Peer{}, Disconnects: map[string]uint64{}}
	if !s.running() {
		return out, nil
	}
	stats := map[[32]byte]replicate.PeerStats{}
	for _, ps := range s.rep.Peers() {
		stats[ps.RemotePublicKey] = ps
	}
	for _, c := range s.sw.Conns() {
		out.Peers = append(out.Peers, peerOf(c, stats[c.RemotePublicKey]))
	}
	if d := s.disconnects(); d != nil {
		out.Disconnects = d
	}
	return out, nil
}

func peerOf(c swarm.Conn, ps replicate.PeerStats) rpc.Peer {
	dks := ps.DiscoveryKeys
	if dks == nil {
		dks = []core.DiscoveryKey{}
	}
	return rpc.Peer{
		RemotePublicKey: core.Key(c.RemotePublicKey), RemoteAddress: c.RemoteAddr, Type: c.Transport,
		Initiator: c.Initiator, UploadedBytes: ps.UploadedBytes, DownloadedBytes: ps.DownloadedBytes,
		DiscoveryKeys: dks,
	}
}

func (s *swarmNet) Connect(ctx context.Context, addr string) (rpc.Peer, func(), error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return rpc.Peer{}, nil, fmt.Errorf("connect to %q: give HOST:PORT: %w", addr, rpc.ErrBadRequest)
	}
	if err := s.ensure(ctx); err != nil { // the client names the address
		return rpc.Peer{}, nil, fmt.Errorf("%w: %w", rpc.ErrNetworkUnavailable, err)
	}
	kept, c, err := s.sw.Keep(ctx, addr)
	if err != nil { // the client names the address
		return rpc.Peer{}, nil, fmt.Errorf("%w: %w", rpc.ErrUnavailable, err)
	}
	s.log.Info("connected to a peer", "addr", addr, "publicKey", core.Key(c.RemotePublicKey).String())
	return peerOf(c, replicate.PeerStats{}), kept.Stop, nil
}
