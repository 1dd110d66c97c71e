package dht

import (
	"context"
	"net/netip"
	"time"
)

// addNode records that node id at addr talked to us, as dht-rpc's
// _addNode: known nodes are refreshed, new ones inserted; a full bucket
// (once bootstrapped) pings its 3 oldest and replaces the first that fails.
func (n *Node) addNode(id ID, addr netip.AddrPort, token, to []byte) {
	if id == n.id {
		return
	}
	if c := n.table.get(id); c != nil {
		n.refresh(c, addr, token, to)
		n.table.touch(c)
		return
	}
	c := &contact{NodeInfo: NodeInfo{ID: id, Addr: addr}}
	n.refresh(c, addr, token, to)
	if n.table.insert(c) {
		n.emit(Event{Type: EventAddNode, Node: c.NodeInfo})
		return
	}
	n.onFullBucket(c)
}

func (n *Node) refresh(c *contact, addr netip.AddrPort, token, to []byte) {
	c.Addr = addr
	c.tick = n.tick
	if token != nil {
		c.token = append([]byte(nil), token...)
	}
	if len(to) == 6 {
		c.to = append([]byte(nil), to...)
	}
}

func (n *Node) removeNode(id ID) {
	if c := n.table.remove(id); c != nil {
		n.emit(Event{Type: EventRemoveNode, Node: c.NodeInfo})
	}
}

// onFullBucket runs k-bucket's ping round for newcomer c: old contacts
// seen this tick stay, the others are pinged one at a time, and the first
// that fails is replaced by c. Newcomers are dropped before the first
// bootstrap and while a round runs in the same bucket.
func (n *Node) onFullBucket(c *contact) {
	b := n.table.bucketOf(c.ID)
	if !n.booted || n.table.busy[b] {
		return
	}
	var reping []*contact
	for _, old := range n.table.oldestInBucket(c.ID, 3) {
		if old.tick == n.tick {
			n.table.touch(old)
			continue
		}
		reping = append(reping, old)
	}
	if len(reping) > 0 {
		n.table.busy[b] = true
		n.repingNext(b, reping, c)
	}
}

func (n *Node) repingNext(b int, olds []*contact, c *contact) {
	if len(olds) == 0 || n.closed {
		n.table.busy[b] = false
		return
	}
	old := olds[0]
	n.ping(old, true, func(err error) {
		if err == nil {
			n.repingNext(b, olds[1:], c)
			return
		}
		n.table.busy[b] = false
		n.removeNode(old.ID)
		n.addNode(c.ID, c.Addr, c.token, c.to)
	})
}

// ping pings a table contact (with its id as value, as dht-rpc does).
func (n *Node) ping(c *contact, now bool, done func(error)) {
	id := c.ID
	r := &request{
		msg: Message{Version: ProtocolVersion, Type: TypeQuery, To: encodePeer(c.Addr),
			ID: n.idBytes(), Command: cmdPing, Value: id[:]},
		to: c.Addr, expect: &id,
		done: func(_ *Message, _ netip.AddrPort, err error) { done(err) },
	}
	if now && !n.closed {
		n.requestNow(r)
		return
	}
	n.request(r)
}

// tableTick is dht-rpc's 5 s tick: every 8th pings the least recently
// seen nodes (or re-bootstraps an empty table), every 64th re-bootstraps
// a table of fewer than 20 nodes.
func (n *Node) tableTick() {
	n.tick++
	if n.tick&7 == 0 {
		n.pingSome()
	}
	if n.tick&63 == 0 && n.table.len() < K {
		n.bootstrapInBackground()
	}
}

func (n *Node) pingSome() {
	if n.table.len() == 0 {
		n.bootstrapInBackground()
		return
	}
	cnt := 5
	if n.queries > 2 {
		cnt = 3
	}
	for _, c := range n.table.oldest(cnt) {
		if c.tick == n.tick {
			break
		}
		id := c.ID
		n.ping(c, false, func(err error) {
			if err != nil {
				n.removeNode(id)
			}
		})
	}
}

func (n *Node) bootstrapInBackground() {
	if n.booting || n.closed || len(n.bootstrap) == 0 {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*n.timing.QueryTimeout+10*time.Second)
		defer cancel()
		if err := n.Bootstrap(ctx); err != nil {
			n.log.Debug("background bootstrap", "err", err)
		}
	}()
}
