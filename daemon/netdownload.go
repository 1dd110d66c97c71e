package daemon

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/core/store"
	"github.com/hspd/hsp/rpc"
	"github.com/hspd/hsp/swarm/replicate"
)

// emptyGrace is how long a download to the peers' length waits, when
// every peer says the core is empty, for one that has blocks.
const emptyGrace = 3 * time.Second

// resolvePoll is how often a download to the peers' length looks whether
// its peers have told their lengths.
const resolvePoll = 2 * time.Millisecond

// netDownload is a range fetched from peers by the replicator. It is
// complete once every block of it is verified and durably committed.
type netDownload struct {
	s      *swarmNet
	c      *store.Handle
	h      *replicate.Handle
	r      rpc.DownloadRange
	base   replicate.Stats // the core's counters when it began
	done   chan struct{}
	cancel context.CancelFunc

	mu  sync.Mutex
	end uint64 // resolved end (0 while unknown, and for live)
	err error
}

func (s *swarmNet) Download(ctx context.Context, c *store.Handle, r rpc.DownloadRange) (rpc.LocalDownload, error) {
	if err := s.ensure(ctx); err != nil {
		return nil, fmt.Errorf("download: %w: %w", rpc.ErrNetworkUnavailable, err)
	}
	h := s.handle(c)
	ctx, cancel := context.WithCancel(ctx)
	d := &netDownload{s: s, c: c, h: h, r: r, base: h.Stats(), done: make(chan struct{}), cancel: cancel}
	if !r.ToPeers && !r.Live {
		d.end = r.End
	}
	stopDiscovery := func() {}
	if r.Discover {
		var err error
		if stopDiscovery, err = s.discover(c.DiscoveryKey()); err != nil {
			cancel()
			return nil, fmt.Errorf("download: %w", err)
		}
		go d.refresh(ctx)
	}
	go func() {
		defer close(d.done)
		defer stopDiscovery()
		err := d.run(ctx)
		d.mu.Lock()
		d.err = err
		d.mu.Unlock()
	}()
	return d, nil
}

func (d *netDownload) run(ctx context.Context) error {
	end := d.r.End
	switch {
	case d.r.ToPeers:
		n, err := d.resolve(ctx)
		if err != nil {
			return err
		}
		end = n
	case d.r.Live && end == 0:
		end = math.MaxUint64
	}
	if end <= d.r.Start {
		return nil
	}
	if err := d.h.Download(ctx, d.r.Start, end); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("download cancelled: %w", context.Canceled)
		}
		return err
	}
	return nil
}

// resolve waits until every peer replicating the core has told what it
// has (at least one), and takes the longest length announced.
func (d *netDownload) resolve(ctx context.Context) (uint64, error) {
	t := time.NewTicker(resolvePoll)
	defer t.Stop()
	var emptySince time.Time // since when every known peer says the core is empty
	for {
		rem := d.h.Remote()
		end := max(rem.Length, d.c.Length())
		switch {
		case rem.Known == 0 || rem.Known < rem.Peers:
			emptySince = time.Time{}
		case end == 0 && emptySince.IsZero():
			emptySince = time.Now()
		}
		// Peers that lack the core too (downloading it, say) say it is
		// empty: an empty end stands only once no other peer came along.
		if rem.Known > 0 && rem.Known == rem.Peers && (end > 0 || time.Since(emptySince) >= emptyGrace) {
			d.mu.Lock()
			d.end = end
			d.mu.Unlock()
			return end, nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return 0, fmt.Errorf("download cancelled before a peer told its length: %w", context.Canceled)
		}
	}
}

// refresh asks for lookups of the core's topic while no peer replicates
// it, until the download ends.
func (d *netDownload) refresh(ctx context.Context) {
	t := time.NewTicker(refreshEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		case <-d.done:
			return
		}
		if d.h.Remote().Peers == 0 {
			d.s.sw.Refresh(d.c.DiscoveryKey())
		}
	}
}

func (d *netDownload) Done() <-chan struct{} { return d.done }
func (d *netDownload) Cancel()               { d.cancel() }

func (d *netDownload) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

func (d *netDownload) Progress() rpc.DownloadProgress {
	d.mu.Lock()
	end := d.end
	d.mu.Unlock()
	rem := d.h.Remote()
	st := d.h.Stats()
	p := rpc.DownloadProgress{
		Start: d.r.Start, End: end, Live: d.r.Live,
		DownloadedBlocks: st.DownloadedBlocks - d.base.DownloadedBlocks,
		DownloadedBytes:  st.DownloadedBytes - d.base.DownloadedBytes,
		Peers:            uint32(rem.Peers), Known: uint32(rem.Known), Refused: uint32(rem.Refused),
		RemoteLength: rem.Length, Connections: uint32(len(d.s.sw.Conns())),
	}
	if d.r.Discover {
		if t, _ := d.s.TopicStatus(context.Background(), d.c.DiscoveryKey()); t.Lookup {
			p.Lookups, p.Found = t.Rounds, t.Found
		}
		n, why := d.s.sw.Unreachable(d.c.DiscoveryKey())
		p.Unreachable, p.DialError = uint32(n), why
	}
	haveEnd := end
	if d.r.Live && end == 0 {
		haveEnd = d.c.Length() // what a live download has of the core so far
	}
	if haveEnd > d.r.Start {
		p.Have, _ = d.c.Downloaded(context.Background(), d.r.Start, haveEnd)
	}
	select {
	case <-d.done:
		p.Done = d.Err() == nil
	default:
	}
	return p
}

// fetch gets a block for a waiting Get, asking peers for it first; the
// network starts for it if it has not yet.
func (s *swarmNet) fetch(ctx context.Context, c *store.Handle, index uint64, opts core.GetOptions) ([]byte, error) {
	if err := s.ensure(ctx); err != nil {
		return c.Get(ctx, index, opts) // no network: only the store can answer
	}
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	h := s.handle(c)
	if !h.PeerHas(index) {
		if err := s.awaitHolder(ctx, c, h, index); err != nil {
			return nil, err
		}
	}
	return h.GetBefore(ctx, index, opts.BeforeRead)
}

// update waits until c is at least minLength long, asking the peers that
// announced more for proofs of their length.
func (s *swarmNet) update(ctx context.Context, c *store.Handle, minLength uint64) (uint64, error) {
	if !s.running() {
		return c.Update(ctx, minLength)
	}
	h := s.handle(c)
	for {
		if n := c.Length(); n >= minLength {
			return n, nil
		}
		if _, err := h.Update(ctx); err != nil {
			return c.Length(), fmt.Errorf("update to length %d: %w", minLength, err)
		}
	}
}

// seek finds a byte offset with the peers' help.
func (s *swarmNet) seek(ctx context.Context, c *store.Handle, byteOffset uint64) (uint64, uint64, error) {
	if !s.running() {
		return c.Seek(ctx, byteOffset)
	}
	return s.handle(c).Seek(ctx, byteOffset)
}

// Extension registers an extension on c's channels with every peer.
func (s *swarmNet) Extension(c *store.Handle, name string, onMessage func(core.Key, []byte)) (rpc.LocalExtension, error) {
	h := s.handle(c)
	if err := h.RegisterExtension(name); err != nil {
		return nil, fmt.Errorf("register extension: %w: %w", rpc.ErrLimit, err)
	}
	x := &netExtension{s: s, h: h, dk: c.DiscoveryKey(), name: name, onMessage: onMessage,
		q: make(chan extMessage, extQueue), done: make(chan struct{})}
	s.mu.Lock()
	s.exts[x.dk] = append(s.exts[x.dk], x)
	s.mu.Unlock()
	go x.run()
	return x, nil
}

// extQueue bounds the messages waiting for one extension's client; past
// it messages are dropped (extensions are best effort, and a slow client
// must not stall a peer's stream).
const extQueue = 256

type extMessage struct {
	peer core.Key
	data []byte
}

// netExtension is one client's extension on one core.
type netExtension struct {
	s         *swarmNet
	h         *replicate.Handle
	dk        core.DiscoveryKey
	name      string
	onMessage func(core.Key, []byte)
	q         chan extMessage
	done      chan struct{}
	closeOnce sync.Once
}

func (x *netExtension) run() {
	for {
		select {
		case m := <-x.q:
			x.onMessage(m.peer, m.data)
		case <-x.done:
			return
		}
	}
}

func (x *netExtension) Send(ctx context.Context, data []byte, peer *core.Key) (int, error) {
	return x.h.SendExtensionTo((*[32]byte)(peer), x.name, data)
}

func (x *netExtension) Close() {
	x.closeOnce.Do(func() {
		close(x.done)
		x.s.mu.Lock()
		defer x.s.mu.Unlock()
		list := x.s.exts[x.dk]
		for i, y := range list {
			if y == x {
				x.s.exts[x.dk] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(x.s.exts[x.dk]) == 0 {
			delete(x.s.exts, x.dk)
		}
	})
}

// onExtension hands a peer's extension message to the clients that
// registered its name on the core.
func (s *swarmNet) onExtension(peer replicate.PeerInfo, dk core.DiscoveryKey, name string, payload []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.exts[dk] {
		if x.name != name {
			continue
		}
		select {
		case x.q <- extMessage{core.Key(peer.RemotePublicKey), payload}:
		default:
		}
	}
}

// getLinger is how long a get's lookup of its core's topic outlasts the
// get, so that gets in a row share one lookup (and its flush).
const getLinger = 10 * time.Second

// settleTimeout bounds how long a get, once the swarm flushed, waits for
// the peers connected to tell whether they have the core.
const settleTimeout = 3 * time.Second

// awaitHolder waits, for a get of block index that no peer has announced,
// until a peer has it or everyone findable was tried: the core's topic is
// looked up (hyperswarm2.md §7 "Flush": the lookup ended and every peer
// found was dialled), and every peer connected has told whether it has
// the core. Then, with nobody having the block, it is ErrUnavailable,
// not a wait without end. The block arriving meanwhile ends it too; a
// block past the length of every peer replicating the core is waited
// for, as the writer's next append.
func (s *swarmNet) awaitHolder(ctx context.Context, c *store.Handle, h *replicate.Handle, index uint64) error {
	dk := c.DiscoveryKey()
	stop, err := s.discover(dk)
	if err != nil {
		return fmt.Errorf("get block %d: %w", index, err)
	}
	defer time.AfterFunc(getLinger, stop) // the next get finds the lookup done
	if err := s.sw.Flush(ctx, dk); err != nil {
		return fmt.Errorf("get block %d: %w", index, err)
	}
	settle, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	t := time.NewTicker(resolvePoll)
	defer t.Stop()
	for {
		if h.PeerHas(index) {
			return nil
		}
		if has, _ := c.Has(ctx, index); has {
			return nil
		}
		rem := h.Remote()
		if rem.Known+rem.Refused >= len(s.sw.Conns()) {
			break // everyone connected told us
		}
		select {
		case <-t.C:
		case <-settle.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("get block %d: %w", index, ctx.Err())
			}
			return s.unavailable(c, index)
		}
	}
	if rem := h.Remote(); h.PeerHas(index) || (rem.Peers > 0 && index >= max(rem.Length, c.Length())) {
		return nil // had, or past every length a peer has: wait for its append
	}
	return s.unavailable(c, index)
}

// unavailable is the error of a get whose block no peer has.
func (s *swarmNet) unavailable(c *store.Handle, index uint64) error {
	rem := s.handle(c).Remote()
	var t rpc.TopicStatus
	if ts, _ := s.TopicStatus(context.Background(), c.DiscoveryKey()); ts.Lookup {
		t = ts
	}
	return fmt.Errorf("get block %d of core %s: no peer has it (%d found in %d DHT lookup%s; %d connected peer%s replicate the core, %d do not have it): %w",
		index, c.Key(), t.Found, t.Rounds, plural(t.Rounds), rem.Peers, plural(rem.Peers), rem.Refused, rpc.ErrUnavailable)
}

// plural is "s" unless n is 1.
func plural[N ~int | ~uint32](n N) string {
	if n == 1 {
		return ""
	}
	return "s"
}
