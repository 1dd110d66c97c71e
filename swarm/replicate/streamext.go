package replicate

import (
	"fmt"
	"slices"

	"github.com/hspd/hsp/swarm/wire"
)

// Stream-level extensions (hypercore-protocol 8, spec section 6.8):
// Options{extensions} on channel 0, sent before the first stream
// extension message, and type-15 messages on channel 0 whose id is the
// position of the name in the sender's sorted list.

// SendStreamExtension sends a stream-level extension message to every
// connected peer. name must be one of Options.StreamExtensions.
func (r *Replicator) SendStreamExtension(name string, payload []byte) error {
	id, ok := slices.BinarySearch(r.sexts, name)
	if !ok {
		return fmt.Errorf("send stream extension %q: not in Options.StreamExtensions", name)
	}
	for _, p := range r.peerList() {
		p.sendStreamExtension(uint64(id), slices.Clone(payload))
	}
	return nil
}

// sendStreamExtension queues a channel-0 extension message, after our
// channel-0 Options the first time.
func (p *peer) sendStreamExtension(id uint64, payload []byte) {
	p.mu.Lock()
	first := !p.sentStreamExts
	p.sentStreamExts = true
	if first {
		p.out.push(nil, wire.Options{Extensions: p.r.sexts}, nil)
	}
	p.out.push(nil, wire.Extension{ID: id, Payload: payload}, nil)
	p.mu.Unlock()
}

// onStreamMessage handles channel-0 Options and extension messages.
func (p *peer) onStreamMessage(m wire.Message) {
	switch m := m.(type) {
	case wire.Options:
		p.remoteSExt = slices.Clone(m.Extensions[:min(len(m.Extensions), 256)])
	case wire.Extension:
		f := p.r.opts.OnStreamExtension
		if m.ID >= uint64(len(p.remoteSExt)) || f == nil {
			return
		}
		name := p.remoteSExt[m.ID]
		if _, ok := slices.BinarySearch(p.r.sexts, name); ok {
			f(p.info, name, slices.Clone(m.Payload))
		}
	}
}
