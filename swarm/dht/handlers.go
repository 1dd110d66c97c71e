package dht

import (
	"net/netip"
)

// Command names.
const (
	cmdPing      = "_ping"
	cmdFindNode  = "_find_node"
	cmdHolepunch = "_holepunch"
	cmdPeers     = "peers"
)

// onDatagram handles one datagram from a normalised IPv4 address.
func (n *Node) onDatagram(b []byte, from netip.AddrPort) {
	if n.closed || !n.limiter.allow(from, n.clock.Now()) {
		return
	}
	m, err := DecodeMessage(b)
	if err != nil {
		n.log.Debug("drop datagram", "from", from, "err", err)
		return
	}
	if m.ID != nil && len(m.ID) != 32 {
		return
	}
	if m.Version < ProtocolVersion {
		m.ID = nil // older senders count as ephemeral
	}
	switch m.Type {
	case TypeResponse:
		n.onResponse(m, from)
	case TypeQuery:
		n.onRequest(m, from)
	case TypeUpdate:
		if !n.validToken(m.Token, from) {
			return // dropped silently, as dht-rpc does
		}
		n.onRequest(m, from)
	}
}

func (n *Node) onResponse(m *Message, from netip.AddrPort) {
	if id, ok := idFrom(m.ID); ok {
		n.addNode(id, from, m.Token, m.To)
	}
	if m.RID < 65536 {
		n.finish(uint16(m.RID), m, from, nil)
	}
}

func (n *Node) onRequest(m *Message, from netip.AddrPort) {
	if id, ok := idFrom(m.ID); ok {
		n.addNode(id, from, nil, m.To)
	}
	switch m.Command {
	case cmdPing:
		n.onPing(m, from)
	case cmdFindNode:
		n.onFindNode(m, from)
	case cmdHolepunch:
		n.onHolepunch(m, from)
	default:
		n.onCommand(m, from)
	}
}

// reply sends a successful response: to, id, token, closer nodes, value.
func (n *Node) reply(req *Message, to netip.AddrPort, value, closerNodes []byte) {
	res := Message{
		Version: ProtocolVersion, Type: TypeResponse, RID: req.RID,
		To: encodePeer(to), ID: n.idBytes(), CloserNodes: closerNodes,
		Token: n.token(to, 0), Value: value,
	}
	n.sendTo(res.Encode(), to)
}

// replyError sends an error response, which carries no token.
func (n *Node) replyError(req *Message, to netip.AddrPort, msg string, closerNodes []byte) {
	res := Message{
		Version: ProtocolVersion, Type: TypeResponse, RID: req.RID,
		To: encodePeer(to), ID: n.idBytes(), CloserNodes: closerNodes, Error: msg,
	}
	n.sendTo(res.Encode(), to)
}

func (n *Node) onPing(m *Message, from netip.AddrPort) {
	if m.Value != nil && string(m.Value) != string(n.id[:]) {
		return // addressed to a node id that is not ours
	}
	n.reply(m, from, encodePeer(from), nil)
}

func (n *Node) onFindNode(m *Message, from netip.AddrPort) {
	target, ok := idFrom(m.Target)
	if !ok {
		return
	}
	n.reply(m, from, nil, n.table.encodeClosest(target, K))
}

// onHolepunch relays a holepunch that names `to`, and answers one that
// names `from` (or neither) straight to that address.
func (n *Node) onHolepunch(m *Message, from netip.AddrPort) {
	if m.Value == nil {
		return // the direct half of a punch: it only opened a NAT
	}
	h, err := DecodeHolepunch(m.Value)
	if err != nil {
		return
	}
	if h.To != nil {
		to, ok := decodePeer(h.To)
		if !ok || to == from {
			return
		}
		fwd := *m
		fwd.Version, fwd.ID, fwd.To = ProtocolVersion, n.idBytes(), encodePeer(to)
		fwd.Value = (&Holepunch{From: encodePeer(from)}).Encode()
		n.emit(Event{Type: EventHolepunch, From: from, To: to})
		n.sendTo(fwd.Encode(), to)
		return
	}
	if h.From != nil {
		if f, ok := decodePeer(h.From); ok {
			from = f
		}
	}
	n.reply(m, from, nil, nil)
}

// onCommand answers app commands: `peers`, and "Unsupported command" for
// the rest (including the mutable and immutable stores).
func (n *Node) onCommand(m *Message, from netip.AddrPort) {
	if m.Target == nil {
		return
	}
	target, ok := idFrom(m.Target)
	var closerNodes []byte
	if ok {
		closerNodes = n.table.encodeClosest(target, K)
	}
	if m.Command != cmdPeers {
		n.replyError(m, from, "Unsupported command", closerNodes)
		return
	}
	if !ok {
		return
	}
	in, err := DecodePeersInput(m.Value)
	if err != nil {
		return
	}
	n.onPeers(m, from, target, in, closerNodes)
}

// peersReq is one `peers` request, with the records it names: the
// asker's public record under the topic and, given a LAN address, its
// 4-byte suffix under the topic's /16 key.
type peersReq struct {
	m           *Message
	src, from   netip.AddrPort // UDP source; the address to record
	topic       ID
	remote      recordKey
	rec         string
	local       recordKey
	suffix      string
	hasLocal    bool
	closerNodes []byte
}

// onPeers is @hyperswarm/dht's peers handler: lookups on QUERY, announce
// and unannounce on UPDATE.
func (n *Node) onPeers(m *Message, src netip.AddrPort, topic ID, in *PeersInput, closerNodes []byte) {
	port := uint32(src.Port())
	if in.Port != 0 {
		port = in.Port
	}
	if port == 0 || port > 65535 {
		n.replyError(m, src, "Invalid port", closerNodes)
		return
	}
	from := netip.AddrPortFrom(src.Addr(), uint16(port))
	p := peersReq{m: m, src: src, from: from, topic: topic, remote: recordKey{topic: topic},
		rec: string(encodePeer(from)), closerNodes: closerNodes}
	if len(in.LocalAddress) == 6 {
		p.hasLocal = true
		p.local = recordKey{topic: topic, local: true, prefix: [2]byte(in.LocalAddress[:2])}
		p.suffix = string(in.LocalAddress[2:])
	}
	switch {
	case m.Type == TypeQuery:
		n.lookupRecords(p)
	case in.Unannounce:
		n.storeRecords(p, false)
	default:
		n.storeRecords(p, true)
	}
}

func (n *Node) storeRecords(p peersReq, add bool) {
	op, ev := n.records.remove, EventUnannounce
	if add {
		op, ev = n.records.add, EventAnnounce
	}
	op(p.remote, p.rec)
	if p.hasLocal {
		op(p.local, p.suffix)
	}
	n.emit(Event{Type: ev, Topic: p.topic, From: p.from})
	n.reply(p.m, p.src, nil, p.closerNodes)
}

// lookupRecords answers with up to 32 random LAN records and up to
// 128 − that many public ones, leaving out the asker's own.
func (n *Node) lookupRecords(p peersReq) {
	var out PeersOutput
	nLocal := 0
	if p.hasLocal {
		l := without(n.records.get(p.local, 32), p.suffix)
		nLocal = len(l)
		out.LocalPeers = concat(l)
	}
	out.Peers = concat(without(n.records.get(p.remote, 128-nLocal), p.rec))
	n.emit(Event{Type: EventLookup, Topic: p.topic, From: p.from})
	n.reply(p.m, p.src, out.Encode(), p.closerNodes)
}

// without removes the first r from list.
func without(list []string, r string) []string {
	for i, s := range list {
		if s == r {
			list[i] = list[len(list)-1]
			return list[:len(list)-1]
		}
	}
	return list
}

func concat(list []string) []byte {
	var b []byte
	for _, s := range list {
		b = append(b, s...)
	}
	return b
}
