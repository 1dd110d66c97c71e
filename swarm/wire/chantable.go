package wire

import "github.com/hspd/hsp/core"

// channelTable maps cores to channels and both sides' channel ids to them,
// as hypercore-protocol's Channelizer does. Every channel in local or
// remote is in byDK, and a channel has at most one remote id, so
// MaxChannels bounds all three.
type channelTable struct {
	byDK   map[core.DiscoveryKey]*Channel
	local  []*Channel // by local id; index 0 (the stream) stays nil
	remote map[uint64]*Channel
}

func newChannelTable() channelTable {
	return channelTable{
		byDK:   make(map[core.DiscoveryKey]*Channel),
		local:  []*Channel{nil},
		remote: make(map[uint64]*Channel),
	}
}

// allocLocal returns the lowest free local id, which is at least 1. The id
// is not taken until the caller stores a channel at it.
func (t *channelTable) allocLocal() uint64 {
	for id := 1; id < len(t.local); id++ {
		if t.local[id] == nil {
			return uint64(id)
		}
	}
	t.local = append(t.local, nil)
	return uint64(len(t.local) - 1)
}

// attachRemote records that the remote opened ch on id with capability c.
// A channel the id was used for before loses it.
func (t *channelTable) attachRemote(ch *Channel, id uint64, c []byte) {
	if old := t.remote[id]; old != nil && old != ch {
		old.remoteOpen = false
		if old.localID == 0 {
			delete(t.byDK, old.dk)
		}
	}
	if ch.remoteOpen && ch.remoteID != id {
		delete(t.remote, ch.remoteID)
	}
	t.remote[id] = ch
	ch.remoteID, ch.remoteOpen, ch.remoteCap = id, true, c
}

// forget drops ch from the core map and its remote id; its local id must
// already be free.
func (t *channelTable) forget(ch *Channel) {
	if t.byDK[ch.dk] == ch {
		delete(t.byDK, ch.dk)
	}
	if ch.remoteOpen && t.remote[ch.remoteID] == ch {
		delete(t.remote, ch.remoteID)
	}
	ch.remoteOpen = false
}
