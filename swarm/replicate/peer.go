package replicate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/swarm/wire"
)

// peer is one stream and the cores replicated over it.
type peer struct {
	r      *Replicator
	s      *wire.Stream
	info   PeerInfo
	ctx    context.Context
	cancel context.CancelFunc
	out    *outbox
	reqs   *serveQueue

	mu           sync.Mutex
	chans        map[*wire.Channel]*peerChan
	opened       map[core.DiscoveryKey]*coreState // opened here, maybe not ready yet
	refused      map[core.DiscoveryKey]bool       // cores whose channel the remote closed before opening it
	st           Stats
	unknownOpens int

	killOnce sync.Once
	killErr  *PeerError
	ended    bool // non-live: the last channel closed (guarded by mu)

	sentStreamExts bool     // our channel-0 Options went out (guarded by mu)
	remoteSExt     []string // the remote's stream extensions (Run's goroutine)
}

// Run replicates over s, whose handshake must be done, until the stream
// ends, ctx ends, the peer is cut off or the Replicator closes; it then
// closes s. Every added core is opened on s, and cores the remote opens are
// served if added or found by Options.Lookup. A peer cut off for
// misbehaving returns a *PeerError.
func (r *Replicator) Run(ctx context.Context, s *wire.Stream) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(r.ctx, cancel)()
	p := &peer{
		r: r, s: s, info: PeerInfo{RemotePublicKey: s.RemotePublicKey()}, ctx: ctx, cancel: cancel,
		chans: map[*wire.Channel]*peerChan{}, opened: map[core.DiscoveryKey]*coreState{},
		refused: map[core.DiscoveryKey]bool{},
	}
	p.out = newOutbox(p)
	p.reqs = newServeQueue()
	r.mu.Lock()
	r.peers[p] = struct{}{}
	r.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { p.out.run(ctx) })
	wg.Go(func() { p.serveLoop(ctx) })
	wg.Go(func() { p.tickLoop(ctx) })
	for _, cs := range r.coreList() {
		p.open(cs)
	}
	err := p.recvLoop(ctx)
	cancel()
	s.Close()
	wg.Wait()
	p.shutdown()
	return p.result(err)
}

func (p *peer) recvLoop(ctx context.Context) error {
	for {
		ev, err := p.s.Recv(ctx)
		if err != nil {
			return err
		}
		p.handle(ctx, ev)
	}
}

// result turns why the stream ended into Run's error, counting protocol
// violations the wire layer caught.
func (p *peer) result(err error) error {
	if p.killErr != nil {
		return p.killErr
	}
	p.mu.Lock()
	ended := p.ended
	p.mu.Unlock()
	if ended {
		return nil
	}
	if errors.Is(err, wire.ErrMalformed) || errors.Is(err, wire.ErrFrameTooLarge) || errors.Is(err, wire.ErrBadCapability) {
		p.kill(ErrMalformed, err)
		return p.killErr
	}
	return err
}

// kill cuts the peer off for reason, once: counted, logged, stream closed.
func (p *peer) kill(reason, err error) {
	p.killOnce.Do(func() {
		p.killErr = &PeerError{Reason: reason, Err: err}
		p.r.countDisconnect(reason)
		p.r.opts.Logger.Warn("peer cut off", "peer", fmt.Sprintf("%x", p.info.RemotePublicKey), "reason", reason.Error(), "err", err)
		p.cancel()
		if p.s != nil { // nil only in the fuzz target
			p.s.Close()
		}
	})
}

func (p *peer) handle(ctx context.Context, ev wire.Event) {
	switch ev.Kind {
	case wire.EventRemoteOpen:
		p.onRemoteOpen(ctx, ev.DiscoveryKey)
	case wire.EventChannelReady:
		p.mu.Lock()
		cs := p.opened[ev.DiscoveryKey]
		p.mu.Unlock()
		if cs != nil {
			p.attach(cs, ev.Channel)
		}
	case wire.EventChannelClosed:
		if pc := p.chanOf(ev.Channel); pc != nil {
			p.detach(pc)
		} else {
			p.refusedOpen(ev.DiscoveryKey)
		}
	case wire.EventMessage:
		if ev.Channel == nil {
			p.onStreamMessage(ev.Message)
			return
		}
		if pc := p.chanOf(ev.Channel); pc != nil {
			pc.onMessage(ctx, ev.Message)
		}
	}
}

func (p *peer) chanOf(ch *wire.Channel) *peerChan {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.chans[ch]
}

// onRemoteOpen serves a core the remote opened, or closes its channel.
func (p *peer) onRemoteOpen(ctx context.Context, dk core.DiscoveryKey) {
	if cs := p.r.served(ctx, dk); cs != nil {
		p.open(cs)
		return
	}
	if err := p.s.Reject(dk); err != nil {
		return
	}
	p.mu.Lock()
	p.unknownOpens++
	n := p.unknownOpens
	p.mu.Unlock()
	if n > p.r.opts.MaxUnknownOpens {
		p.kill(ErrUnknownOpens, fmt.Errorf("%d opens of cores we do not have", n))
	}
}

// refusedOpen notes that the remote closed a channel we opened before
// opening it too: it does not have (or will not share) the core.
func (p *peer) refusedOpen(dk core.DiscoveryKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.opened[dk] != nil {
		delete(p.opened, dk)
		p.refused[dk] = true
	}
}

// open opens cs on the stream unless it is open already.
func (p *peer) open(cs *coreState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.opened[cs.dk] != nil {
		return
	}
	p.opened[cs.dk] = cs
	if _, err := p.s.OpenChannel(cs.key); err != nil {
		delete(p.opened, cs.dk)
		p.r.opts.Logger.Debug("open channel", "core", cs.dk, "err", err)
	}
}

func (p *peer) attach(cs *coreState, ch *wire.Channel) {
	pc := newPeerChan(p, cs, ch)
	p.mu.Lock()
	p.chans[ch] = pc
	delete(p.refused, cs.dk)
	p.mu.Unlock()
	cs.attach(pc)
	pc.start()
}

func (p *peer) detach(pc *peerChan) {
	p.mu.Lock()
	delete(p.chans, pc.ch)
	delete(p.opened, pc.cs.dk)
	p.mu.Unlock()
	p.reqs.drop(pc)
	pc.cs.detach(pc)
	p.r.release(pc.cs)
	if p.r.opts.NonLive {
		pc.cs.mu.Lock()
		ours := pc.ending
		pc.cs.mu.Unlock()
		p.mu.Lock()
		end := len(p.chans) == 0 && len(p.opened) == 0 && p.ctx.Err() == nil
		p.ended = p.ended || end
		p.mu.Unlock()
		switch {
		case !end:
		case ours: // the remote answers our Close and ends the stream
			time.AfterFunc(p.r.opts.RequestTimeout, p.cancel)
		default: // as a non-live hypercore-protocol stream ends
			p.cancel()
		}
	}
}

// close closes cs's channel on this stream (Handle.Remove).
func (p *peer) close(cs *coreState) {
	p.mu.Lock()
	var found *peerChan
	for _, pc := range p.chans {
		if pc.cs == cs {
			found = pc
		}
	}
	delete(p.opened, cs.dk)
	p.mu.Unlock()
	if found != nil {
		found.ch.Close()
		p.detach(found)
	}
}

// shutdown gives back everything the peer held.
func (p *peer) shutdown() {
	p.mu.Lock()
	pcs := make([]*peerChan, 0, len(p.chans))
	for _, pc := range p.chans {
		pcs = append(pcs, pc)
	}
	p.mu.Unlock()
	for _, pc := range pcs {
		p.detach(pc)
	}
	p.r.mu.Lock()
	delete(p.r.peers, p)
	p.r.mu.Unlock()
}

func (p *peer) addStats(s Stats) {
	p.mu.Lock()
	p.st.add(s)
	p.mu.Unlock()
	p.r.addTotals(s)
}

func (p *peer) stats() PeerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	dks := make([]core.DiscoveryKey, 0, len(p.chans))
	for _, pc := range p.chans {
		dks = append(dks, pc.cs.dk)
	}
	slices.SortFunc(dks, func(a, b core.DiscoveryKey) int { return bytes.Compare(a[:], b[:]) })
	return PeerStats{PeerInfo: p.info, Stats: p.st, Cores: len(p.chans), DiscoveryKeys: dks}
}

// tickLoop expires requests, resizes windows and watches for a stalled
// writer, every Options.Tick.
func (p *peer) tickLoop(ctx context.Context) {
	o := &p.r.opts
	t := time.NewTicker(o.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := o.Now()
		if since := p.out.stalledSince(); !since.IsZero() && now.Sub(since) > o.StallTimeout {
			p.kill(ErrSlowReader, fmt.Errorf("one write blocked for %v", now.Sub(since)))
			return
		}
		p.mu.Lock()
		pcs := make([]*peerChan, 0, len(p.chans))
		for _, pc := range p.chans {
			pcs = append(pcs, pc)
		}
		p.mu.Unlock()
		for _, pc := range pcs {
			pc.cs.mu.Lock()
			pc.cs.tick(pc, now, o.Tick)
			pc.cs.mu.Unlock()
		}
	}
}
