package replicate

import "github.com/hspd/hsp/swarm/wire"

// Non-live ending (Options.NonLive), as hypercore 9's replicate.js does it
// (spec section 7.5): a downloader that has everything the peer has says
// Status{downloading: false}; a side that hears downloading: false and
// needs nothing of the peer says Status{uploading: false, downloading:
// false} and closes the channel; the peer answers Close (wire does that),
// and a stream whose last channel closed ends.

// endCheck ends pc's channel, or says we are done downloading from it,
// when non-live and nothing more is needed of it. cs.mu is held.
func (cs *coreState) endCheck(pc *peerChan) {
	if !cs.r.opts.NonLive || pc.closed || pc.ending || cs.needs(pc) {
		return
	}
	if !pc.remoteDownloading && !pc.remoteUploading {
		return // the peer is ending: its Close follows
	}
	if !pc.remoteDownloading {
		pc.ending = true
		pc.send(wire.Status{Uploading: wire.Bool(false), Downloading: wire.Bool(false)})
		pc.p.out.pushClose(pc)
		return
	}
	if cs.downloading() && !pc.saidDone {
		pc.saidDone = true
		pc.send(wire.Status{Uploading: wire.Bool(cs.uploading()), Downloading: wire.Bool(false)})
	}
}

// needs reports whether we still want something of pc: an explicit get,
// update or seek, a request in flight or a block waiting for import (a
// batch being imported keeps its blocks reserved, which stops the cursor); for
// a full core, a block pc has and we lack (or pc's bitfield, not seen
// yet); a sparse core, as JS's, keeps the channel while pc uploads.
// cs.mu is held.
func (cs *coreState) needs(pc *peerChan) bool {
	if !cs.downloading() {
		return false
	}
	if len(cs.gets) > 0 || cs.updates > 0 || pc.seeks > 0 || len(pc.inflight) > 0 || len(cs.imp.items) > 0 {
		return true
	}
	if !cs.full() {
		return pc.remoteUploading
	}
	if !pc.remoteUploading {
		return false
	}
	if !pc.gotBitfield {
		return true
	}
	cs.cursor = cs.advance(cs.cursor, pc.remoteLength)
	for i := cs.cursor; i < pc.remoteLength; i++ {
		if pc.remote.get(i) && !cs.has(i) {
			return true
		}
	}
	return false
}
