package replicate

import (
	"context"
	"slices"
	"sync"

	"github.com/hspd/hsp/core"
)

// Replicator replicates cores with any number of peers, one Run per
// stream. It is safe for concurrent use.
type Replicator struct {
	opts   Options
	exts   []string // Options.Extensions, sorted
	sexts  []string // Options.StreamExtensions, sorted
	ctx    context.Context
	cancel context.CancelFunc

	mu    sync.Mutex
	cores map[core.DiscoveryKey]*coreState
	peers map[*peer]struct{}

	dmu         sync.Mutex // guards disconnects and totals; taken under any other lock
	disconnects map[string]uint64
	totals      Stats
}

// New returns a Replicator with no cores.
func New(opts Options) *Replicator {
	ctx, cancel := context.WithCancel(context.Background())
	exts := slices.Clone(opts.Extensions)
	slices.Sort(exts)
	sexts := slices.Clone(opts.StreamExtensions)
	slices.Sort(sexts)
	return &Replicator{
		opts: opts.withDefaults(), exts: exts, sexts: sexts, ctx: ctx, cancel: cancel,
		cores: map[core.DiscoveryKey]*coreState{}, peers: map[*peer]struct{}{},
		disconnects: map[string]uint64{},
	}
}

// Close stops replication: every Run returns and the cores' background
// work ends. The cores themselves stay open.
func (r *Replicator) Close() error {
	r.cancel()
	r.mu.Lock()
	peers := make([]*peer, 0, len(r.peers))
	for p := range r.peers {
		peers = append(peers, p)
	}
	r.mu.Unlock()
	for _, p := range peers {
		p.s.Close()
	}
	return nil
}

// Add replicates c with every peer, present and future, until Remove. Adding
// a core twice returns the same handle.
func (r *Replicator) Add(c Core, opts CoreOptions) *Handle {
	r.mu.Lock()
	cs := r.cores[c.DiscoveryKey()]
	if cs == nil {
		cs = newCoreState(r, c, opts)
		r.cores[cs.dk] = cs
	} else if !cs.added {
		cs.adopt(opts) // served until now: it replicates as Add says from here
	}
	cs.added = true
	peers := r.peerList()
	r.mu.Unlock()
	for _, p := range peers {
		p.open(cs)
	}
	return &Handle{cs: cs}
}

// served returns the core state for a remote Open of dk: an added core,
// one already served, or one Lookup finds.
func (r *Replicator) served(ctx context.Context, dk core.DiscoveryKey) *coreState {
	r.mu.Lock()
	cs := r.cores[dk]
	r.mu.Unlock()
	if cs != nil || r.opts.Lookup == nil {
		return cs
	}
	c, opts, ok := r.opts.Lookup(ctx, dk)
	if !ok || c.DiscoveryKey() != dk {
		return nil
	}
	r.mu.Lock()
	cs = r.cores[dk]
	found := cs != nil
	if !found {
		cs = newCoreState(r, c, opts)
		r.cores[dk] = cs
	}
	r.mu.Unlock()
	if found && opts.Release != nil {
		opts.Release() // added meanwhile: what Lookup found is not needed
	}
	return cs
}

// release forgets a core that was only served once its last channel goes.
func (r *Replicator) release(cs *coreState) {
	r.mu.Lock()
	gone := !cs.added && cs.idle() && r.cores[cs.dk] == cs
	if gone {
		delete(r.cores, cs.dk)
		cs.stop()
	}
	r.mu.Unlock()
	if gone && cs.opts.Release != nil {
		cs.opts.Release()
	}
}

func (r *Replicator) peerList() []*peer {
	out := make([]*peer, 0, len(r.peers))
	for p := range r.peers {
		out = append(out, p)
	}
	return out
}

func (r *Replicator) coreList() []*coreState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*coreState, 0, len(r.cores))
	for _, cs := range r.cores {
		if cs.added {
			out = append(out, cs)
		}
	}
	return out
}

// Disconnects counts the peers cut off, by reason.
func (r *Replicator) Disconnects() map[string]uint64 {
	r.dmu.Lock()
	defer r.dmu.Unlock()
	out := make(map[string]uint64, len(r.disconnects))
	for k, v := range r.disconnects {
		out[k] = v
	}
	return out
}

// Totals counts what went up and down with every peer since New.
func (r *Replicator) Totals() Stats {
	r.dmu.Lock()
	defer r.dmu.Unlock()
	return r.totals
}

func (r *Replicator) addTotals(s Stats) {
	r.dmu.Lock()
	defer r.dmu.Unlock()
	r.totals.add(s)
}

func (s *Stats) add(o Stats) {
	s.UploadedBlocks += o.UploadedBlocks
	s.UploadedBytes += o.UploadedBytes
	s.DownloadedBlocks += o.DownloadedBlocks
	s.DownloadedBytes += o.DownloadedBytes
	s.Duplicates += o.Duplicates
	s.ProofBytes += o.ProofBytes
}

func (r *Replicator) countDisconnect(reason error) {
	r.dmu.Lock()
	defer r.dmu.Unlock()
	r.disconnects[reason.Error()]++
}

// Stats counts what went up and down, verified, for a peer or a core.
type Stats struct {
	UploadedBlocks, UploadedBytes     uint64
	DownloadedBlocks, DownloadedBytes uint64
	// Duplicates counts blocks that arrived when already stored or queued.
	Duplicates uint64
	// ProofBytes counts the proof nodes (40 bytes each) and signatures
	// that came with downloaded blocks: what digests save.
	ProofBytes uint64
}

// PeerInfo names a peer.
type PeerInfo struct {
	// RemotePublicKey is the peer's Noise static key.
	RemotePublicKey [32]byte
}

// PeerStats is one connected peer's counters.
type PeerStats struct {
	PeerInfo
	Stats
	// Cores is how many cores are replicating with the peer, and
	// DiscoveryKeys which.
	Cores         int
	DiscoveryKeys []core.DiscoveryKey
}

// Peers returns the connected peers' counters.
func (r *Replicator) Peers() []PeerStats {
	r.mu.Lock()
	peers := r.peerList()
	r.mu.Unlock()
	out := make([]PeerStats, 0, len(peers))
	for _, p := range peers {
		out = append(out, p.stats())
	}
	return out
}
