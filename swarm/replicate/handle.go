package replicate

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/swarm/wire"
)

// Handle is a core added to a Replicator.
type Handle struct{ cs *coreState }

// Core returns the core.
func (h *Handle) Core() Core { return h.cs.c }

// Stats returns the core's counters over all peers.
func (h *Handle) Stats() Stats {
	h.cs.mu.Lock()
	defer h.cs.mu.Unlock()
	return h.cs.stats
}

// Peers returns how many peers replicate the core now.
func (h *Handle) Peers() int {
	h.cs.mu.Lock()
	defer h.cs.mu.Unlock()
	return len(h.cs.chans)
}

// RemoteLength is the longest length a peer announced.
func (h *Handle) RemoteLength() uint64 {
	h.cs.mu.Lock()
	defer h.cs.mu.Unlock()
	var n uint64
	for _, pc := range h.cs.chans {
		n = max(n, pc.remoteLength)
	}
	return n
}

// Remote is what the core's peers told us.
type Remote struct {
	// Peers is how many peers replicate the core now; Known how many of
	// them told us what they have (answered our Want).
	Peers, Known int
	// Refused is how many connected peers closed the core's channel
	// without opening it: they do not have it.
	Refused int
	// Length is the longest length a peer announced.
	Length uint64
}

// Remote describes the core's peers.
func (h *Handle) Remote() Remote {
	cs := h.cs
	var out Remote
	cs.r.mu.Lock()
	peers := cs.r.peerList()
	cs.r.mu.Unlock()
	for _, p := range peers {
		p.mu.Lock()
		if p.refused[cs.dk] {
			out.Refused++
		}
		p.mu.Unlock()
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out.Peers = len(cs.chans)
	for _, pc := range cs.chans {
		out.Length = max(out.Length, pc.remoteLength)
		if pc.gotBitfield {
			out.Known++
		}
	}
	return out
}

// Get returns block i, fetching it before anything else if it is missing.
func (h *Handle) Get(ctx context.Context, i uint64) ([]byte, error) {
	return h.GetBefore(ctx, i, nil)
}

// GetBefore is Get with the core's BeforeRead hook: before, when set, is
// called once block i is stored, right before it is read.
func (h *Handle) GetBefore(ctx context.Context, i uint64, before func(context.Context) error) ([]byte, error) {
	cs := h.cs
	if cs.has(i) {
		return cs.c.Get(ctx, i, core.GetOptions{NoWait: true, BeforeRead: before})
	}
	cs.mu.Lock()
	cs.gets[i]++
	cs.pump()
	cs.mu.Unlock()
	defer func() {
		cs.mu.Lock()
		if cs.gets[i]--; cs.gets[i] <= 0 {
			delete(cs.gets, i)
		}
		cs.mu.Unlock()
	}()
	return cs.c.Get(ctx, i, core.GetOptions{BeforeRead: before})
}

// Download fetches blocks [start, end) and returns once all of them are
// stored. Stored means committed durably: the replicator commits every
// batch with Sync, before the blocks become visible.
func (h *Handle) Download(ctx context.Context, start, end uint64) error {
	cs := h.cs
	sp := &span{start: start, end: end, cursor: start}
	cs.mu.Lock()
	cs.spans = append(cs.spans, sp)
	cs.pump()
	cs.mu.Unlock()
	defer func() {
		cs.mu.Lock()
		cs.dropSpan(sp)
		cs.mu.Unlock()
	}()
	for {
		changed := cs.c.Changed()
		n, err := cs.c.Downloaded(ctx, start, end)
		if err != nil {
			return fmt.Errorf("download [%d, %d): %w", start, end, err)
		}
		if n == end-start {
			return nil
		}
		if err := waitChange(ctx, changed); err != nil {
			return fmt.Errorf("download [%d, %d): %d blocks missing: %w", start, end, end-start-n, err)
		}
	}
}

func waitChange(ctx context.Context, changed <-chan struct{}) error {
	select {
	case <-changed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Update waits until the core is longer than it is now, asking peers that
// announced more for a proof of their length (a hash request), as
// hypercore's update() does. It returns the new length.
func (h *Handle) Update(ctx context.Context) (uint64, error) {
	cs := h.cs
	cur := cs.c.Length()
	cs.mu.Lock()
	cs.updates++
	cs.pump()
	cs.mu.Unlock()
	defer func() {
		cs.mu.Lock()
		cs.updates--
		cs.mu.Unlock()
	}()
	for {
		changed := cs.c.Changed()
		if n := cs.c.Length(); n > cur {
			return n, nil
		}
		if err := waitChange(ctx, changed); err != nil {
			return cur, fmt.Errorf("update past length %d: %w", cur, err)
		}
	}
}

// Seek finds the block holding byteOffset, asking a peer with a byte
// request when the tree nodes are not here.
func (h *Handle) Seek(ctx context.Context, byteOffset uint64) (index, offset uint64, err error) {
	cs := h.cs
	asked := false
	for {
		changed := cs.c.Changed()
		i, off, err := cs.c.Seek(ctx, byteOffset)
		if err == nil || !errors.Is(err, core.ErrNotAvailable) && !errors.Is(err, core.ErrOutOfRange) {
			return i, off, err
		}
		switch {
		case asked:
		case byteOffset > 0:
			asked = cs.askSeek(byteOffset)
		default: // a byte request cannot say 0: block 0 and its proof tell
			asked = true
			go h.Get(ctx, 0)
		}
		if err := waitChange(ctx, changed); err != nil {
			return 0, 0, fmt.Errorf("seek to byte %d: %w", byteOffset, err)
		}
	}
}

// askSeek sends a byte request to the first peer that uploads.
func (cs *coreState) askSeek(byteOffset uint64) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, pc := range cs.chans {
		if pc.remoteUploading && pc.remoteLength > 0 {
			pc.seeks++
			pc.send(wire.Request{Index: 0, Bytes: wire.Uint64(byteOffset), Hash: wire.Bool(false), Nodes: wire.Uint64(0)})
			return true
		}
	}
	return false
}

// Synced waits until every block received so far is verified and
// committed (or refused): nothing waits in the import queue.
func (h *Handle) Synced(ctx context.Context) error {
	h.cs.mu.Lock()
	idle := h.cs.imp.idle
	h.cs.mu.Unlock()
	if err := waitChange(ctx, idle); err != nil {
		return fmt.Errorf("wait for import: %w", err)
	}
	return nil
}

// SendExtension sends an extension message to every peer of the core.
// name must be one of Options.Extensions or registered on the core.
func (h *Handle) SendExtension(name string, payload []byte) error {
	_, err := h.SendExtensionTo(nil, name, payload)
	return err
}

// SendExtensionTo sends an extension message to the core's peer whose
// key is peer, or to every peer when peer is nil, and returns how many it
// went to.
func (h *Handle) SendExtensionTo(peer *[32]byte, name string, payload []byte) (int, error) {
	cs := h.cs
	cs.mu.Lock()
	defer cs.mu.Unlock()
	id, ok := slices.BinarySearch(cs.exts, name)
	if !ok {
		return 0, fmt.Errorf("send extension %q: neither in Options.Extensions nor registered", name)
	}
	sent := 0
	for _, pc := range cs.chans {
		if peer == nil || pc.p.info.RemotePublicKey == *peer {
			pc.send(wire.Extension{ID: uint64(id), Payload: slices.Clone(payload)})
			sent++
		}
	}
	return sent, nil
}

// maxCoreExtensions bounds the extension names of one core.
const maxCoreExtensions = 64

// RegisterExtension adds an extension name to the core's, as hypercore's
// registerExtension does, and tells every peer at once with a new
// Options; peers that open the core later hear it when it opens.
// Messages under the name reach Options.OnExtension.
func (h *Handle) RegisterExtension(name string) error {
	cs := h.cs
	cs.mu.Lock()
	defer cs.mu.Unlock()
	i, ok := slices.BinarySearch(cs.exts, name)
	if ok {
		return nil
	}
	if len(cs.exts) >= maxCoreExtensions {
		return fmt.Errorf("register extension %q: the core has %d already", name, len(cs.exts))
	}
	cs.exts = slices.Insert(slices.Clone(cs.exts), i, name)
	for _, pc := range cs.chans {
		pc.send(cs.optionsMessage())
	}
	return nil
}

// Remove stops replicating the core: its channels close on every stream.
func (h *Handle) Remove() {
	cs, r := h.cs, h.cs.r
	r.mu.Lock()
	cs.added = false
	peers := r.peerList()
	r.mu.Unlock()
	for _, p := range peers {
		p.close(cs)
	}
	r.release(cs)
}

// PeerHas reports whether a peer replicating the core now announced block
// i (and uploads).
func (h *Handle) PeerHas(i uint64) bool {
	h.cs.mu.Lock()
	defer h.cs.mu.Unlock()
	for _, pc := range h.cs.chans {
		if pc.remoteUploading && pc.remote.get(i) {
			return true
		}
	}
	return false
}
